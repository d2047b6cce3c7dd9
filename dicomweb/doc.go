// Package dicomweb is a client for the DICOMweb services a PACS offers
// (PS3.18): QIDO-RS searches for studies, series and instances, WADO-RS
// metadata, and WADO-RS retrieval of series and instances as
// multipart/related application/dicom in their original transfer syntax.
//
// A Client authenticates with HTTP basic credentials or a bearer token
// (LoadAuth reads them from the environment or a private file, never from a
// command line), trusts an extra CA bundle for hospital TLS, retries
// transient failures (connection errors, 5xx, 408, 429) with exponential
// backoff, and aborts a transfer that stalls. Its errors name the request
// kind and the server's answer but never a UID or query value, so they can
// be logged: a failed study is identified by the caller.
package dicomweb
