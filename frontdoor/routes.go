package frontdoor

import (
	"net/http"
	"sync"
)

// Route is a registered route of a door.
type Route struct {
	// Pattern is the http.ServeMux pattern: "POST /v1/clusters".
	Pattern string
	// Action names the route in the audit log: "cluster.create". It is
	// stable, since audit queries filter on it.
	Action string
	// Public routes need no credentials.
	Public bool
}

// Routes registers a door's routes on its mux, each audited and, unless
// public, authenticated by the door, so that no route can forget either.
// It remembers them, so that tests can walk every route (the OpenAPI
// document, the authorization matrix).
type Routes struct {
	door *Door
	mux  *http.ServeMux
	list []Route
}

// NewRoutes returns an empty route table on a new mux, secured by d.
func NewRoutes(d *Door) *Routes {
	return &Routes{door: d, mux: http.NewServeMux()}
}

// Mux returns the mux the routes are on: the handler to put in a Chain,
// and where a door registers its fallback, which is no route.
func (rt *Routes) Mux() *http.ServeMux { return rt.mux }

// Handle registers a route that needs credentials.
func (rt *Routes) Handle(pattern, action string, h http.Handler) {
	rt.add(Route{Pattern: pattern, Action: action}, rt.door.Authenticate(h))
}

// HandlePublic registers a route that needs no credentials: probes,
// documents, and the endpoints that trade another credential (a password,
// a join token) for one.
func (rt *Routes) HandlePublic(pattern, action string, h http.Handler) {
	rt.add(Route{Pattern: pattern, Action: action, Public: true}, h)
}

// add audits the route outside its authentication, so that refused
// credentials are recorded too.
func (rt *Routes) add(route Route, h http.Handler) {
	rt.mux.Handle(route.Pattern, rt.door.Audit(route.Action, h))
	rt.list = append(rt.list, route)
}

// List returns the routes in registration order.
func (rt *Routes) List() []Route { return append([]Route(nil), rt.list...) }

// Build makes a door's handler: a route table secured by d, filled by
// register, with fallback answering what no route matches (it is no
// route: it is not listed), all inside chain. The chain gets the mux
// itself, so that it sees the request the mux sets Pattern on, for the
// route of its access log and metrics. The table is returned for tests
// that walk every route.
func Build(d *Door, chain *Chain, register func(*Routes), fallback http.Handler) (*Routes, http.Handler) {
	rt := NewRoutes(d)
	register(rt)
	rt.mux.Handle("/", fallback)
	return rt, chain.Wrap(rt.mux)
}

// Once builds a door's handler on its first use and serves the same one
// afterwards. A door's server holds one, and its Handler method returns
// what Once.Handler returns.
type Once struct {
	once    sync.Once
	handler http.Handler
}

// Handler returns the handler build made, calling build on the first call
// only.
func (o *Once) Handler(build func() http.Handler) http.Handler {
	o.once.Do(func() { o.handler = build() })
	return o.handler
}
