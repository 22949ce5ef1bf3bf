package main

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/dbplane/dbplane"
)

func TestPrintClusterStandby(t *testing.T) {
	lag, at := int64(3), time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	var b bytes.Buffer
	printCluster(&b, &dbplane.Cluster{ID: 9, Name: "stby", Status: dbplane.ClusterRunning,
		Replication: &dbplane.ReplicationStatus{Source: dbplane.ClusterRef{ID: 4, Name: "orders"}, State: dbplane.ReplicationStreaming,
			IORunning: true, SQLRunning: true, LagSeconds: &lag, Position: "4-1-20", CheckedAt: &at}})
	for _, want := range []string{"Standby of:", "orders (4)", "streaming (io yes, sql yes, lag 3s)", "4-1-20", "Checked:"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("cluster show lacks %q:\n%s", want, b.String())
		}
	}
	b.Reset()
	printCluster(&b, &dbplane.Cluster{ID: 4, Name: "orders", Standbys: []dbplane.ClusterRef{{ID: 9, Name: "stby"}}})
	if out := b.String(); !strings.Contains(out, "Standbys:") || !strings.Contains(out, "stby (9)") || strings.Contains(out, "Standby of:") {
		t.Errorf("source's cluster show:\n%s", out)
	}
}
