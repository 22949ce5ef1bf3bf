package enginekit

import (
	"slices"
	"testing"

	"github.com/dbplane/dbplane"
)

func TestEndpoints(t *testing.T) {
	p := dbplane.Node{Address: "10.0.0.1", Port: 5432}
	replicas := []dbplane.Node{{Address: "fd00::2", Port: 5433}}
	c := &dbplane.Cluster{}
	d := Deps{CA: &fakeCA{}}
	ep := d.Endpoints(c, p, replicas)
	if ep.Primary != "10.0.0.1:5432" || !slices.Equal(ep.Replicas, []string{"[fd00::2]:5433"}) || ep.CACert != "" {
		t.Errorf("endpoints = %+v, want host:port of each node, IPv6 bracketed, and no CA without SSL", ep)
	}
	c.Spec.SSL = true
	if ep := d.Endpoints(c, p, nil); ep.CACert != "ca" || ep.Replicas != nil {
		t.Errorf("with SSL: %+v, want the CA certificate for clients", ep)
	}
}
