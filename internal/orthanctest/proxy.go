package orthanctest

import (
	"crypto/tls"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"time"
)

// startProxy serves s.URL through a reverse proxy to Orthanc: HTTPS with
// the test CA's certificate when opts.TLS is set, and bearer-token
// authentication (forwarded to Orthanc as basic auth) when opts.BearerToken
// is. It stays up across Orthanc restarts (answering 502 while Orthanc is
// down) and stops when the test ends.
func (s *Server) startProxy() {
	s.t.Helper()
	target, _ := url.Parse(s.orthanc)
	rp := httputil.NewSingleHostReverseProxy(target)
	rp.FlushInterval = -1
	rp.ErrorLog = log.New(io.Discard, "", 0)
	token := s.opts.BearerToken
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if token != "" {
			if r.Header.Get("Authorization") != "Bearer "+token {
				w.Header().Set("WWW-Authenticate", `Bearer realm="cmrfm-test"`)
				http.Error(w, "invalid or missing bearer token", http.StatusUnauthorized)
				return
			}
			r.Header.Del("Authorization")
			if s.user != "" {
				r.SetBasicAuth(s.user, s.pass)
			}
		}
		rp.ServeHTTP(w, r)
	})
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		s.t.Fatal(err)
	}
	quiet := log.New(io.Discard, "", 0) // clients that refuse the certificate are expected
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 30 * time.Second, ErrorLog: quiet}
	scheme := "http"
	if c := s.opts.TLS; c != nil {
		pair, err := tls.X509KeyPair(c.CertPEM, c.KeyPEM)
		if err != nil {
			s.t.Fatal(err)
		}
		srv.TLSConfig = &tls.Config{Certificates: []tls.Certificate{pair}}
		l = tls.NewListener(l, srv.TLSConfig)
		scheme = "https"
	}
	go srv.Serve(l)
	s.t.Cleanup(func() { srv.Close() })
	s.URL = scheme + "://" + l.Addr().String()
}
