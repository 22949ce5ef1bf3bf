package main

import "github.com/dbplane/dbplane/httpapi"

// httpConnect returns an HTTP client of the native API at server.
func httpConnect(server, token string) api {
	c := httpapi.NewClient(server)
	c.Token = token
	return c
}
