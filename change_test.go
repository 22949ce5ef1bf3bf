package dbplane

import (
	"maps"
	"strings"
	"testing"
)

func TestValidateClusterPassword(t *testing.T) {
	if err := ValidateClusterPassword("newPassword", "N3w-Password"); err != nil {
		t.Fatal(err)
	}
	for _, pw := range []string{"", "short1A", "alllowercaseletters", "N3w Password"} {
		err := ValidateClusterPassword("newPassword", pw)
		fs := ErrorFields(err)
		if ErrorKind(err) != KindInvalid || len(fs) == 0 || fs[0].Field != "newPassword" {
			t.Fatalf("%q: %v, want an invalid error naming newPassword", pw, err)
		}
		if pw != "" && ErrorMessage(err) != "" && strings.Contains(err.Error(), pw) {
			t.Fatalf("the error quotes the password: %v", err)
		}
	}
}

func TestValidateParameterChange(t *testing.T) {
	if err := ValidateParameterChange(map[string]string{"max_connections": "300", "wait_timeout": ""}); err != nil {
		t.Fatal(err)
	}
	for _, bad := range []map[string]string{nil, {"Bad-Name": "1"}, {"a": string(make([]byte, 1025))}} {
		if err := ValidateParameterChange(bad); ErrorKind(err) != KindInvalid {
			t.Fatalf("%v: %v, want invalid", bad, err)
		}
	}
}

func TestMergeParameters(t *testing.T) {
	spec := map[string]string{"a": "1", "b": "2"}
	got := MergeParameters(spec, map[string]string{"a": "9", "b": "", "c": "3"})
	if want := map[string]string{"a": "9", "c": "3"}; !maps.Equal(got, want) {
		t.Fatalf("merged %v, want %v", got, want)
	}
	if spec["b"] != "2" {
		t.Fatal("the spec's map was changed")
	}
}

func TestClusterOutcome_Changes(t *testing.T) {
	for _, kind := range []string{TaskKindClusterPassword, TaskKindClusterParameters} {
		for status, want := range map[TaskStatus]ClusterStatus{
			TaskRunning: ClusterUpdating, TaskSuccessful: ClusterRunning, TaskFailed: ClusterAbnormal,
		} {
			next, remove, ok := ClusterOutcome(kind, status, OpExecute)
			if !ok || remove || next != want {
				t.Errorf("%s %s: %s %v %v, want %s", kind, status, next, remove, ok, want)
			}
		}
	}
}
