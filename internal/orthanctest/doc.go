// Package orthanctest runs a real Orthanc DICOM server (Debian's orthanc and
// orthanc-dicomweb packages) for tests: on a free loopback port, with a
// generated JSON configuration and its storage in a temporary directory,
// HTTP basic authentication when asked, and the DICOMweb plugin enabled.
// Tests load studies through Orthanc's REST API and may stop, kill and
// restart the server on the same storage.
//
// TLS and bearer tokens are served by a Go reverse proxy in front of Orthanc,
// as hospitals put nginx or an OAuth2 gateway in front of theirs: Debian 12's
// Orthanc 1.10.1 completes the TLS handshake and then resets the connection
// and dies (segmentation fault) on the first HTTPS request, and it has no
// bearer-token authentication without its authorization plugin, which Debian
// does not package. The proxy is a test double for that gateway only; every
// DICOMweb answer still comes from Orthanc.
//
// When Orthanc or its DICOMweb plugin is missing, a test skips on a user's
// clone and fails in CI (see internal/testenv).
package orthanctest
