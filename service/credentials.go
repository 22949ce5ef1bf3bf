package service

import (
	"context"
	"crypto/rand"
	"encoding/base32"
	"encoding/base64"
	"errors"
	"fmt"

	"github.com/dbplane/dbplane"
)

// AccessKeyPrefix starts every access key id, so a leaked one is
// recognisable by secret scanners.
const AccessKeyPrefix = "DBPAK"

// Access key ids are AccessKeyPrefix and 15 upper-case base32 characters:
// 20 characters, the length of AWS and Huawei Cloud key ids, which some
// client tools assume. Secrets are 30 random bytes, 40 characters in
// base64url: like AWS secret keys in length, and safe in any header.
const (
	accessKeyIDLen  = 20
	accessKeySecret = 30 // bytes
)

// MaxAccessKeys bounds the access keys of one user; see
// dbplane.MaxAccessKeys.
const MaxAccessKeys = dbplane.MaxAccessKeys

// ownCredential authorizes a on a credential of a user: the user itself
// may; global admins may for anyone; to everyone else the credential does
// not exist.
func ownCredential(ctx context.Context, owner int64, nf error) error {
	_, err := authorize(ctx, dbplane.ActionManage, resource{project: dbplane.GlobalScope, owner: owner, hidden: nf})
	return err
}

// FindTokens lists a user's unexpired tokens, without secrets.
func (s *Identity) FindTokens(ctx context.Context, userID int64) ([]*dbplane.Token, error) {
	if err := ownCredential(ctx, userID, notFound("user %d not found", userID)); err != nil {
		return nil, err
	}
	ts, err := s.Store.FindTokens(ctx, userID, s.now())
	if err != nil {
		return nil, err
	}
	for _, t := range ts {
		t.Secret = ""
	}
	return ts, nil
}

// RevokeToken revokes a token of the caller's, or anyone's for a global
// admin.
func (s *Identity) RevokeToken(ctx context.Context, id int64) error {
	if _, err := authenticated(ctx); err != nil {
		return err
	}
	nf := notFound("token %d not found", id)
	t, err := s.Store.FindToken(ctx, id)
	if err != nil {
		return orNotFound(err, nf)
	}
	dbplane.AuditTarget(ctx, target("token", id), dbplane.GlobalScope)
	if err := ownCredential(ctx, t.UserID, nf); err != nil {
		return err
	}
	if err := s.Store.RevokeToken(ctx, id, s.now()); err != nil {
		return orNotFound(err, nf)
	}
	s.logger().InfoContext(ctx, "token revoked", "token_id", id, "user_id", t.UserID, "by", userName(ctx))
	return nil
}

// CreateAccessKey creates an access key for a user and returns it with its
// secret, which is never shown again.
func (s *Identity) CreateAccessKey(ctx context.Context, userID int64, description string) (*dbplane.AccessKey, error) {
	const op = "service.CreateAccessKey"
	nf := notFound("user %d not found", userID)
	if err := ownCredential(ctx, userID, nf); err != nil {
		return nil, err
	}
	if msg := descriptionProblem(description); msg != "" {
		return nil, dbplane.Invalid(dbplane.FieldError{Field: "description", Message: msg})
	}
	if _, err := s.Store.FindUserByID(ctx, userID); err != nil {
		return nil, orNotFound(err, nf)
	}
	keys, err := s.Store.FindAccessKeys(ctx, userID)
	if err != nil {
		return nil, err
	}
	if len(keys) >= MaxAccessKeys {
		return nil, dbplane.Errorf(dbplane.KindConflict,
			"user %d already has %d access keys, the most allowed; delete one first", userID, len(keys))
	}
	// A taken id is a 2^-75 event; one retry covers it.
	for attempt := 1; ; attempt++ {
		k, secret, err := newAccessKey()
		if err != nil {
			return nil, dbplane.E(op, err)
		}
		k.UserID, k.Description, k.CreatedAt = userID, description, s.now().UTC()
		err = s.Store.CreateAccessKey(ctx, k, secret)
		if dbplane.ErrorKind(err) == dbplane.KindConflict && !errors.Is(err, dbplane.ErrAccessKeyLimit) && attempt < 2 {
			continue
		} else if err != nil {
			return nil, err
		}
		dbplane.AuditTarget(ctx, target("access-key", k.ID), dbplane.GlobalScope)
		s.logger().InfoContext(ctx, "access key created", "access_key", k.ID, "user_id", userID, "by", userName(ctx))
		k.Secret = secret
		return k, nil
	}
}

// FindAccessKeys lists a user's access keys, without secrets.
func (s *Identity) FindAccessKeys(ctx context.Context, userID int64) ([]*dbplane.AccessKey, error) {
	if err := ownCredential(ctx, userID, notFound("user %d not found", userID)); err != nil {
		return nil, err
	}
	keys, err := s.Store.FindAccessKeys(ctx, userID)
	if err != nil {
		return nil, err
	}
	for _, k := range keys {
		k.Secret = ""
	}
	return keys, nil
}

// DeleteAccessKey deletes an access key of the caller's, or anyone's for a
// global admin. Requests it signs fail at once.
func (s *Identity) DeleteAccessKey(ctx context.Context, id string) error {
	if _, err := authenticated(ctx); err != nil {
		return err
	}
	nf := notFound("access key %q not found", clip(id))
	k, _, err := s.Store.FindAccessKey(ctx, id)
	if err != nil {
		return orNotFound(err, nf)
	}
	dbplane.AuditTarget(ctx, target("access-key", k.ID), dbplane.GlobalScope)
	if err := ownCredential(ctx, k.UserID, nf); err != nil {
		return err
	}
	if err := s.Store.DeleteAccessKey(ctx, id); err != nil {
		return orNotFound(err, nf)
	}
	s.logger().InfoContext(ctx, "access key deleted", "access_key", k.ID, "user_id", k.UserID, "by", userName(ctx))
	return nil
}

// newAccessKey returns a new key id and secret.
func newAccessKey() (*dbplane.AccessKey, string, error) {
	idBytes := make([]byte, 10) // 80 bits: 16 base32 characters, 15 kept
	secret := make([]byte, accessKeySecret)
	if _, err := rand.Read(idBytes); err != nil {
		return nil, "", fmt.Errorf("while generating an access key: %w", err)
	}
	if _, err := rand.Read(secret); err != nil {
		return nil, "", fmt.Errorf("while generating an access key: %w", err)
	}
	id := AccessKeyPrefix + base32.StdEncoding.EncodeToString(idBytes)[:accessKeyIDLen-len(AccessKeyPrefix)]
	return &dbplane.AccessKey{ID: id}, base64.RawURLEncoding.EncodeToString(secret), nil
}
