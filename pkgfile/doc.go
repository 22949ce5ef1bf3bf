// Package pkgfile reads and keeps package files: it parses the metadata of
// Debian (.deb) and RPM (.rpm) packages, and stores their bytes in a
// content-addressed directory, each file under its SHA-256, written
// atomically so that a crash leaves no partial package behind.
package pkgfile
