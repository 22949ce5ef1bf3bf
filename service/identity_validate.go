package service

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/dbplane/dbplane"
)

// Limits of identity records.
const (
	maxProjectName  = 63 // a DNS label, so a project name fits in host names and labels
	maxUserName     = 64
	maxDescription  = 256
	minUserPassword = 12
	maxUserPassword = 256 // bounds the work of hashing a request's password
)

// projectNameProblem returns what is wrong with a project name, or "": a
// lower-case DNS label, 1 to 63 letters, digits and '-', starting with a
// letter and not ending with '-'.
func projectNameProblem(name string) string {
	switch {
	case name == "":
		return "required"
	case len(name) > maxProjectName:
		return fmt.Sprintf("must be at most %d characters long", maxProjectName)
	case name[0] < 'a' || name[0] > 'z':
		return "must start with a lower-case letter"
	case name[len(name)-1] == '-':
		return "must not end with '-'"
	}
	for _, c := range name {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
			return "may contain only lower-case letters, digits and '-'"
		}
	}
	return ""
}

// validateProject checks a project's fields; the name only when creating,
// since it cannot change afterwards.
func validateProject(p *dbplane.Project, create bool) error {
	var errs []dbplane.FieldError
	add := func(field, msg string) { errs = append(errs, dbplane.FieldError{Field: field, Message: msg}) }
	if create {
		if msg := projectNameProblem(p.Name); msg != "" {
			add("name", msg)
		}
	}
	if descriptionProblem(p.Description) != "" {
		add("description", descriptionProblem(p.Description))
	}
	for _, q := range []struct {
		field string
		value int
	}{
		{"quota.clusters", p.Quota.Clusters}, {"quota.nodes", p.Quota.Nodes}, {"quota.storage_gb", p.Quota.StorageGB},
	} {
		if q.value < 0 {
			add(q.field, "must not be negative (0 means unlimited)")
		}
	}
	if len(errs) > 0 {
		return dbplane.Invalid(errs...)
	}
	return nil
}

func descriptionProblem(d string) string {
	if !utf8.ValidString(d) {
		return "must be UTF-8 text"
	}
	if n := utf8.RuneCountInString(d); n > maxDescription {
		return fmt.Sprintf("must be at most %d characters long, not %d", maxDescription, n)
	}
	if strings.ContainsFunc(d, unicode.IsControl) {
		return "must not contain control characters"
	}
	return ""
}

// userNameProblem returns what is wrong with a user name, or "": 1 to 64
// letters, digits, '.', '-', '_' and '@' (so e-mail addresses fit),
// starting with a letter or digit.
func userNameProblem(name string) string {
	switch {
	case name == "":
		return "required"
	case len(name) > maxUserName:
		return fmt.Sprintf("must be at most %d characters long", maxUserName)
	case !isAlnum(rune(name[0])):
		return "must start with a letter or digit"
	}
	for _, c := range name {
		if !isAlnum(c) && !strings.ContainsRune(".-_@", c) {
			return "may contain only letters, digits, '.', '-', '_' and '@'"
		}
	}
	return ""
}

func isAlnum(c rune) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

// userPasswordProblem returns what is wrong with a user's password, or "".
// Length is what makes a password strong; composition rules mostly make
// people write them down. The message never quotes the password nor tells
// its length.
func userPasswordProblem(user, pw string) string {
	n := utf8.RuneCountInString(pw)
	switch {
	case pw == "":
		return "required"
	case !utf8.ValidString(pw):
		return "must be UTF-8 text"
	case n < minUserPassword || n > maxUserPassword:
		return fmt.Sprintf("must be %d to %d characters long", minUserPassword, maxUserPassword)
	case strings.EqualFold(pw, user):
		return "must not be the user name"
	case strings.ContainsFunc(pw, unicode.IsControl):
		return "must not contain control characters"
	}
	return ""
}

// validateUser checks a new user's name, password and bindings.
func validateUser(u *dbplane.User, password string) error {
	var errs []dbplane.FieldError
	add := func(field, msg string) { errs = append(errs, dbplane.FieldError{Field: field, Message: msg}) }
	if msg := userNameProblem(u.Name); msg != "" {
		add("name", msg)
	}
	if msg := userPasswordProblem(u.Name, password); msg != "" {
		add("password", msg)
	}
	for i, b := range u.Bindings {
		if !dbplane.ValidRole(b.Role) {
			add(fmt.Sprintf("bindings[%d].role", i), roleProblem(b.Role))
		}
		if b.ProjectID < 0 {
			add(fmt.Sprintf("bindings[%d].project_id", i), "must not be negative")
		}
	}
	if len(errs) > 0 {
		return dbplane.Invalid(errs...)
	}
	return nil
}

func roleProblem(role string) string {
	return fmt.Sprintf("must be %s, %s or %s, not %q", dbplane.RoleViewer, dbplane.RoleOperator, dbplane.RoleAdmin, clip(role))
}

// clip shortens what a client sent for quoting in a message.
func clip(s string) string {
	if utf8.RuneCountInString(s) > 64 {
		return string([]rune(s)[:64]) + "…"
	}
	return s
}
