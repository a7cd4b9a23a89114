/* CPollSys is header-only; SwiftPM wants one source file per C target. */
