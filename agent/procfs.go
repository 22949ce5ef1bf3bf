package agent

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// procStat returns the state letter and the start time (in clock ticks
// after boot) of process pid, from /proc/<pid>/stat. The start time tells
// a process from a later one that reused its pid.
func procStat(pid int) (state byte, start uint64, err error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, 0, err
	}
	// The command name, field 2, is in parentheses and may hold anything,
	// spaces and parentheses included: the fields that follow start after
	// the last ')'.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, 0, fmt.Errorf("malformed /proc/%d/stat", pid)
	}
	f := strings.Fields(string(b[i+1:]))
	// f[0] is field 3 (state); field 22 (starttime) is f[19].
	if len(f) < 20 || len(f[0]) != 1 {
		return 0, 0, fmt.Errorf("malformed /proc/%d/stat", pid)
	}
	start, err = strconv.ParseUint(f[19], 10, 64)
	if err != nil {
		return 0, 0, fmt.Errorf("malformed /proc/%d/stat: %w", pid, err)
	}
	return f[0][0], start, nil
}

// procSession returns the session id of process pid, from
// /proc/<pid>/stat.
func procSession(pid int) (int, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, fmt.Errorf("malformed /proc/%d/stat", pid)
	}
	// f[0] is field 3 (state); field 6 (session) is f[3].
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 4 {
		return 0, fmt.Errorf("malformed /proc/%d/stat", pid)
	}
	return strconv.Atoi(f[3])
}

// sessionMembers returns the pids of the processes of session sid. A
// process that exits during the scan may be missing or listed.
func sessionMembers(sid int) []int {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	var pids []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid <= 0 {
			continue
		}
		if s, err := procSession(pid); err == nil && s == sid {
			pids = append(pids, pid)
		}
	}
	return pids
}

// alive reports whether process pid exists and has not exited. A zombie
// has exited: it only waits for its parent to reap it, which for a process
// the agent re-adopted is not the agent.
func alive(pid int) bool {
	if pid <= 0 {
		return false
	}
	if err := syscall.Kill(pid, 0); err != nil && !errors.Is(err, syscall.EPERM) {
		return false
	}
	state, _, err := procStat(pid)
	return err == nil && state != 'Z' && state != 'X'
}

// sameProcess reports whether pid is alive and is the process that started
// at start ticks after boot (any process, if start is 0).
func sameProcess(pid int, start uint64) bool {
	if !alive(pid) {
		return false
	}
	if start == 0 {
		return true
	}
	_, s, err := procStat(pid)
	return err == nil && s == start
}

// runs reports whether pid is alive and runs program (an absolute path),
// judged by its command line's first word: the only check possible for a
// pid read from a file that the process itself wrote.
func runs(pid int, program string) bool {
	if !alive(pid) {
		return false
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	if err != nil {
		return false
	}
	arg0, _, _ := bytes.Cut(b, []byte{0})
	return string(arg0) == program || filepath.Base(string(arg0)) == filepath.Base(program)
}

// readPIDFile returns the pid on the first line of a pid file (postgres'
// postmaster.pid has more lines), or 0.
func readPIDFile(path string) int {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0
	}
	line, _, _ := bytes.Cut(b, []byte{'\n'})
	pid, err := strconv.Atoi(strings.TrimSpace(string(line)))
	if err != nil || pid <= 0 {
		return 0
	}
	return pid
}

// userHZ is the unit of /proc's tick counts, fixed by the kernel's ABI.
const userHZ = 100

var bootTime = sync.OnceValue(func() time.Time {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return time.Time{}
	}
	for line := range strings.Lines(string(b)) {
		if v, ok := strings.CutPrefix(line, "btime "); ok {
			if s, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64); err == nil {
				return time.Unix(s, 0)
			}
		}
	}
	return time.Time{}
})

// startedAt converts a start time in ticks after boot to wall time; zero
// if unknown.
func startedAt(ticks uint64) time.Time {
	bt := bootTime()
	if bt.IsZero() || ticks == 0 {
		return time.Time{}
	}
	return bt.Add(time.Duration(ticks) * time.Second / userHZ)
}
