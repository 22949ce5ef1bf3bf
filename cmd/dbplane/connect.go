package main

import (
	"crypto/tls"
	"net/http"

	"github.com/dbplane/dbplane/httpapi"
)

// httpConnect returns an HTTP client of the native API at server that
// verifies the server with tlsConfig (the system's roots when nil).
func httpConnect(server, token string, tlsConfig *tls.Config) api {
	c := httpapi.NewClient(server)
	c.Token = token
	if tlsConfig != nil {
		t := http.DefaultTransport.(*http.Transport).Clone()
		t.TLSClientConfig = tlsConfig
		c.HTTPClient = &http.Client{Transport: t}
	}
	return c
}
