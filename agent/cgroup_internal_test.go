package agent

import (
	"os"
	"slices"
	"testing"

	"github.com/dbplane/dbplane"
)

func TestLimitValues(t *testing.T) {
	for _, tc := range []struct {
		name     string
		r        *dbplane.Resources
		cpu, mem string
	}{
		{"None", nil, "max 100000", "max"},
		{"Zero", &dbplane.Resources{}, "max 100000", "max"},
		{"TwoCPUs", &dbplane.Resources{CPUMillis: 2000, MemoryMB: 4096}, "200000 100000", "4294967296"},
		{"QuarterCPU", &dbplane.Resources{CPUMillis: 250}, "25000 100000", "max"},
		{"BelowKernelMinimum", &dbplane.Resources{CPUMillis: 1}, "1000 100000", "max"},
		{"MemoryOnly", &dbplane.Resources{MemoryMB: 1}, "max 100000", "1048576"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cpu, mem := limitValues(tc.r)
			if cpu != tc.cpu || mem != tc.mem {
				t.Errorf("limitValues = %q, %q; want %q, %q", cpu, mem, tc.cpu, tc.mem)
			}
		})
	}
}

// TestSessionMembers: the test process is a member of its own session.
func TestSessionMembers(t *testing.T) {
	sid, err := procSession(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(sessionMembers(sid), os.Getpid()) {
		t.Errorf("sessionMembers(%d) does not list this process (%d)", sid, os.Getpid())
	}
}
