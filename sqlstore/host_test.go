package sqlstore_test

import (
	"context"
	"testing"
	"time"

	"github.com/dbplane/dbplane"
	"github.com/dbplane/dbplane/sqlstore"
	"github.com/google/go-cmp/cmp"
)

func TestFindHosts(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := context.Background()
		var ids []int64
		for _, h := range []struct {
			name, zone string
			status     dbplane.HostStatus
		}{
			{"h0", "zone-a", dbplane.HostOnline},
			{"h1", "zone-b", dbplane.HostOnline},
			{"h2", "zone-a", dbplane.HostOffline},
			{"h3", "zone-a", dbplane.HostOnline},
			{"h4", "zone-c", dbplane.HostNew},
		} {
			ids = append(ids, mustInsertHost(t, db, h.name, h.zone, h.status))
		}
		mustExec(t, db, `UPDATE hosts SET last_seen_at = 3000, region = 'r1', rack = 'k1', os = 'linux', arch = 'amd64' WHERE id = ?`, ids[1])

		pick := func(is ...int) []int64 {
			out := []int64{}
			for _, i := range is {
				out = append(out, ids[i])
			}
			return out
		}
		online, offline, zoneA, zoneZ := dbplane.HostOnline, dbplane.HostOffline, "zone-a", "zone-z"
		for _, tt := range []struct {
			name      string
			filter    dbplane.HostFilter
			want      []int64
			wantTotal int
		}{
			{"All", dbplane.HostFilter{}, pick(0, 1, 2, 3, 4), 5},
			{"Status", dbplane.HostFilter{Status: &online}, pick(0, 1, 3), 3},
			{"Zone", dbplane.HostFilter{Zone: &zoneA}, pick(0, 2, 3), 3},
			{"StatusAndZone", dbplane.HostFilter{Status: &offline, Zone: &zoneA}, pick(2), 1},
			{"NoMatch", dbplane.HostFilter{Zone: &zoneZ}, pick(), 0},
			{"Page", dbplane.HostFilter{Offset: 1, Limit: 2}, pick(1, 2), 5},
			{"FilteredPage", dbplane.HostFilter{Status: &online, Offset: 2, Limit: 2}, pick(3), 3},
		} {
			t.Run(tt.name, func(t *testing.T) {
				hs, total, err := db.FindHosts(ctx, tt.filter)
				if err != nil {
					t.Fatal(err)
				}
				got := []int64{}
				for _, h := range hs {
					got = append(got, h.ID)
				}
				if diff := cmp.Diff(tt.want, got); diff != "" {
					t.Fatalf("ids (-want +got):\n%s", diff)
				} else if total != tt.wantTotal {
					t.Fatalf("total=%d, want %d", total, tt.wantTotal)
				}
			})
		}

		t.Run("Content", func(t *testing.T) {
			hs, _, err := db.FindHosts(ctx, dbplane.HostFilter{Offset: 0, Limit: 2})
			if err != nil {
				t.Fatal(err)
			}
			seen := time.UnixMicro(3000).UTC()
			want := []*dbplane.Host{
				{ID: ids[0], Name: "h0", Address: "h0.example:7070", Zone: "zone-a", CPUs: 4, MemoryMB: 8192, DiskGB: 100,
					Status: dbplane.HostOnline, CreatedAt: fromUnix(1000), UpdatedAt: fromUnix(2000)},
				{ID: ids[1], Name: "h1", Address: "h1.example:7070", Region: "r1", Zone: "zone-b", Rack: "k1", OS: "linux",
					Arch: "amd64", CPUs: 4, MemoryMB: 8192, DiskGB: 100, Status: dbplane.HostOnline, LastSeenAt: &seen,
					CreatedAt: fromUnix(1000), UpdatedAt: fromUnix(2000)},
			}
			if diff := cmp.Diff(want, hs); diff != "" {
				t.Fatalf("hosts (-want +got):\n%s", diff)
			}
		})
	})
}
