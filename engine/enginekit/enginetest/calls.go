package enginetest

import "strings"

// CountCalls returns how many of the calls recorded so far begin with
// prefix ("StopInstance").
func (f *Agent) CountCalls(prefix string) int {
	f.Mu.Lock()
	defer f.Mu.Unlock()
	n := 0
	for _, c := range f.Calls {
		if strings.HasPrefix(c, prefix) {
			n++
		}
	}
	return n
}
