package mysql

import "testing"

func TestParseGrastate(t *testing.T) {
	clean := "# GALERA saved state\nversion: 2.1\nuuid:    6b0a3c1e-8a5b-11ee-9a1f-2a7c4e1d9b00\nseqno:   42\nsafe_to_bootstrap: 1\n"
	st, err := parseGrastate(2, clean)
	if err != nil || st.uuid != "6b0a3c1e-8a5b-11ee-9a1f-2a7c4e1d9b00" || st.seqno != 42 || !st.safe || st.ordinal != 2 {
		t.Fatalf("clean grastate: %+v, %v", st, err)
	}
	crashed := "version: 2.1\nuuid: 6b0a3c1e-8a5b-11ee-9a1f-2a7c4e1d9b00\nseqno: -1\nsafe_to_bootstrap: 0\n"
	if st, err = parseGrastate(0, crashed); err != nil || st.seqno != -1 || st.safe {
		t.Fatalf("crashed grastate: %+v, %v", st, err)
	}
	for _, bad := range []string{"", "uuid: x\n", "uuid: x\nseqno: many\n"} {
		if _, err := parseGrastate(0, bad); err == nil {
			t.Errorf("grastate %q parsed", bad)
		}
	}
}

func TestParseRecovered(t *testing.T) {
	out := "2026-11-22 13:00:00 0 [Note] InnoDB: Starting recovery\n" +
		"2026-11-22 13:00:01 0 [Note] WSREP: Recovered position: 6b0a3c1e-8a5b-11ee-9a1f-2a7c4e1d9b00:117\n"
	uuid, seqno, ok := parseRecovered(out)
	if !ok || uuid != "6b0a3c1e-8a5b-11ee-9a1f-2a7c4e1d9b00" || seqno != 117 {
		t.Fatalf("parseRecovered = %q %d %v", uuid, seqno, ok)
	}
	if _, _, ok := parseRecovered("[ERROR] Aborting\n"); ok {
		t.Error("a log without a position parsed")
	}
}

func TestChooseBootstrap(t *testing.T) {
	const u, v = "6b0a3c1e-8a5b-11ee-9a1f-2a7c4e1d9b00", "7c1b4d2f-8a5b-11ee-9a1f-2a7c4e1d9b00"
	tests := []struct {
		name   string
		states []savedState
		want   int // ordinal; -1: an error
	}{
		{"SafeWins", []savedState{{0, u, 40, false, false}, {1, u, 41, true, false}, {2, u, 39, false, false}}, 1},
		{"HighestSeqno", []savedState{{0, u, 40, false, false}, {1, u, 38, false, true}, {2, u, 45, false, true}}, 2},
		{"TieGoesToPreferred", []savedState{{0, u, 40, false, false}, {1, u, 40, false, false}, {2, u, 40, false, false}}, 1},
		{"UnknownIgnored", []savedState{{0, u, -1, false, false}, {1, u, 3, false, false}}, 1},
		{"DifferentStates", []savedState{{0, u, 40, false, false}, {1, v, 41, false, false}}, -1},
		{"NoPosition", []savedState{{0, u, -1, false, false}, {1, zeroUUID, 5, false, false}}, -1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := chooseBootstrap(tt.states, 1)
			if tt.want < 0 {
				if err == nil {
					t.Fatalf("chose member %d; want an error", got.ordinal)
				}
				return
			}
			if err != nil || got.ordinal != tt.want {
				t.Fatalf("chose member %d, %v; want %d", got.ordinal, err, tt.want)
			}
		})
	}
}
