package dbplane_test

import (
	"testing"

	"github.com/dbplane/dbplane"
	"github.com/google/go-cmp/cmp"
)

// TestCheckQuota: each quota a cluster would exceed is named, in one
// message; zero quotas and clusters that fit pass.
func TestCheckQuota(t *testing.T) {
	c := &dbplane.Cluster{Nodes: []dbplane.Node{{VolumeGB: 20}, {VolumeGB: 20}}}
	p := &dbplane.Project{Name: "shop", Quota: dbplane.Quota{Clusters: 2, Nodes: 3, StorageGB: 100}}
	if err := p.CheckQuota(dbplane.QuotaUsage{Clusters: 1, Nodes: 1, StorageGB: 60}, c); err != nil {
		t.Fatalf("a cluster that fits exactly: %v", err)
	}
	err := p.CheckQuota(dbplane.QuotaUsage{Clusters: 2, Nodes: 2, StorageGB: 10}, c)
	if dbplane.ErrorKind(err) != dbplane.KindQuotaExceeded {
		t.Fatalf("err = %v, want quota_exceeded", err)
	}
	var fields []string
	for _, f := range dbplane.ErrorFields(err) {
		fields = append(fields, f.Field)
	}
	if diff := cmp.Diff([]string{"quota.clusters", "quota.nodes"}, fields); diff != "" {
		t.Errorf("fields (-want +got):\n%s", diff)
	}
	want := `project "shop" allows 2 clusters; 2 are in use and this cluster needs 1; and allows 3 nodes; 2 are in use and this cluster needs 2`
	if got := dbplane.ErrorMessage(err); got != want {
		t.Errorf("message\n%s\nwant\n%s", got, want)
	}
	unlimited := &dbplane.Project{Name: "free"}
	if err := unlimited.CheckQuota(dbplane.QuotaUsage{Clusters: 1000, Nodes: 1000, StorageGB: 1 << 20}, c); err != nil {
		t.Errorf("an unlimited project refused: %v", err)
	}
}
