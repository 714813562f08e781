package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/as2gate/as2gate"
)

// partnerFields are the columns an update sets, in the order of
// partnerValues.
var partnerFields = []string{
	"as2_id", "name", "description", "url",
	"encrypt_cert_id", "sign_cert_id", "next_cert_id", "tls_cert_id",
	"sign", "sign_pss", "encrypt", "key_transport", "compress",
	"mdn", "mdn_signed", "mic_alg", "subject", "content_type",
	"timeout_ms", "retries", "retry_delay_ms", "mdn_timeout_ms", "headers",
	"chunked", "base64", "require_signed", "require_encrypted", "updated_at",
}

var partnerColumns = "id, created_at, " + strings.Join(partnerFields, ", ")

func partnerValues(p *as2gate.Partner, headers string, updated time.Time) []any {
	return []any{
		p.AS2ID, p.Name, p.Description, p.URL,
		nullString(p.EncryptCertID), nullString(p.SignCertID), nullString(p.NextCertID), nullString(p.TLSCertID),
		p.Sign, p.SignPSS, p.Encrypt, p.KeyTransport, p.Compress,
		p.MDN, p.MDNSigned, p.MICAlg, p.Subject, p.ContentType,
		p.Timeout.Milliseconds(), p.Retries, p.RetryDelay.Milliseconds(), p.MDNTimeout.Milliseconds(), headers,
		p.Chunked, p.Base64, p.RequireSigned, p.RequireEncrypted, millis(updated),
	}
}

func scanPartner(r rowScanner) (*as2gate.Partner, error) {
	var p as2gate.Partner
	var encryptCert, signCert, nextCert, tlsCert sql.NullString
	var timeout, retryDelay, mdnTimeout, created, updated int64
	var headers string
	if err := r.Scan(&p.ID, &created,
		&p.AS2ID, &p.Name, &p.Description, &p.URL,
		&encryptCert, &signCert, &nextCert, &tlsCert,
		&p.Sign, &p.SignPSS, &p.Encrypt, &p.KeyTransport, &p.Compress,
		&p.MDN, &p.MDNSigned, &p.MICAlg, &p.Subject, &p.ContentType,
		&timeout, &p.Retries, &retryDelay, &mdnTimeout, &headers,
		&p.Chunked, &p.Base64, &p.RequireSigned, &p.RequireEncrypted, &updated); err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(headers), &p.Headers); err != nil {
		return nil, fmt.Errorf("partner %s: bad headers column: %w", p.ID, err)
	}
	if len(p.Headers) == 0 {
		p.Headers = nil
	}
	p.EncryptCertID, p.SignCertID, p.NextCertID, p.TLSCertID = encryptCert.String, signCert.String, nextCert.String, tlsCert.String
	p.Timeout = time.Duration(timeout) * time.Millisecond
	p.RetryDelay = time.Duration(retryDelay) * time.Millisecond
	p.MDNTimeout = time.Duration(mdnTimeout) * time.Millisecond
	p.CreatedAt, p.UpdatedAt = fromMillis(created), fromMillis(updated)
	return &p, nil
}

func partnerCertificates(p *as2gate.Partner) []certRef {
	return []certRef{
		{"encrypt_cert_id", p.EncryptCertID},
		{"sign_cert_id", p.SignCertID},
		{"next_cert_id", p.NextCertID},
		{"tls_cert_id", p.TLSCertID},
	}
}

func marshalHeaders(hs []as2gate.Header) (string, error) {
	if len(hs) == 0 {
		return "[]", nil
	}
	b, err := json.Marshal(hs)
	if err != nil {
		return "", as2gate.Wrap(as2gate.EInternal, err, "cannot encode the partner's headers")
	}
	return string(b), nil
}

// CreatePartner stores p, giving it an ID and a creation time when it has none.
func (s *Store) CreatePartner(ctx context.Context, p *as2gate.Partner) error {
	id, created := orNewID(p.ID), orNow(p.CreatedAt)
	headers, err := marshalHeaders(p.Headers)
	if err != nil {
		return err
	}
	err = s.write(ctx, func(tx *sql.Tx) error {
		if err := checkCertificates(ctx, tx, partnerCertificates(p)...); err != nil {
			return err
		}
		values := append([]any{id, millis(created)}, partnerValues(p, headers, created)...)
		_, err := tx.ExecContext(ctx, `INSERT INTO partners (`+partnerColumns+`) VALUES (`+placeholders(1, len(values))+`)`, values...)
		return partnerWriteError(err, p)
	})
	if err != nil {
		return err
	}
	p.ID, p.CreatedAt, p.UpdatedAt = id, created, created
	return nil
}

func partnerWriteError(err error, p *as2gate.Partner) error {
	switch {
	case err == nil:
		return nil
	case isUnique(err):
		return as2gate.Wrap(as2gate.EConflict, err, "a partner with AS2 ID %q already exists", p.AS2ID)
	case isForeignKey(err): // a certificate deleted meanwhile
		return as2gate.Wrap(as2gate.EConflict, err, "a certificate of partner %q was deleted meanwhile", p.AS2ID)
	}
	return dbError(err, "cannot save partner %q", p.AS2ID)
}

// GetPartner returns a partner by ID.
func (s *Store) GetPartner(ctx context.Context, id string) (*as2gate.Partner, error) {
	return s.getPartner(ctx, "id", id, "partner "+id)
}

// GetPartnerByAS2ID returns a partner by AS2 ID.
func (s *Store) GetPartnerByAS2ID(ctx context.Context, as2ID string) (*as2gate.Partner, error) {
	return s.getPartner(ctx, "as2_id", as2ID, "partner with AS2 ID "+as2ID)
}

func (s *Store) getPartner(ctx context.Context, column, value, what string) (*as2gate.Partner, error) {
	p, err := scanPartner(s.db.QueryRowContext(ctx, `SELECT `+partnerColumns+` FROM partners WHERE `+column+` = $1`, value))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, as2gate.Errorf(as2gate.ENotFound, "%s not found", what)
	}
	if err != nil {
		return nil, dbError(err, "cannot read %s", what)
	}
	return p, nil
}

// ListPartners returns all partners by AS2 ID.
func (s *Store) ListPartners(ctx context.Context) ([]*as2gate.Partner, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+partnerColumns+` FROM partners ORDER BY as2_id`)
	if err != nil {
		return nil, dbError(err, "cannot list partners")
	}
	defer rows.Close()
	var list []*as2gate.Partner
	for rows.Next() {
		p, err := scanPartner(rows)
		if err != nil {
			return nil, dbError(err, "cannot list partners")
		}
		list = append(list, p)
	}
	if err := rows.Err(); err != nil {
		return nil, dbError(err, "cannot list partners")
	}
	return list, nil
}

// UpdatePartner saves p (all fields but ID and creation time).
func (s *Store) UpdatePartner(ctx context.Context, p *as2gate.Partner) error {
	updated := now()
	headers, err := marshalHeaders(p.Headers)
	if err != nil {
		return err
	}
	err = s.write(ctx, func(tx *sql.Tx) error {
		if err := checkCertificates(ctx, tx, partnerCertificates(p)...); err != nil {
			return err
		}
		a := args{p.ID}
		sets := make([]string, len(partnerFields))
		for i, v := range partnerValues(p, headers, updated) {
			sets[i] = partnerFields[i] + " = " + a.add(v)
		}
		n, err := affected(tx.ExecContext(ctx, `UPDATE partners SET `+strings.Join(sets, ", ")+` WHERE id = $1`, a...))
		if err != nil {
			return partnerWriteError(err, p)
		}
		if n == 0 {
			return as2gate.Errorf(as2gate.ENotFound, "partner %s not found", p.ID)
		}
		return nil
	})
	if err != nil {
		return err
	}
	p.UpdatedAt = updated
	return nil
}

// DeletePartner deletes a partner without messages in progress; its other
// messages stay, with their partner's AS2 ID.
func (s *Store) DeletePartner(ctx context.Context, id string) error {
	return s.write(ctx, func(tx *sql.Tx) error {
		return s.deleteWithMessages(ctx, tx, "partners", "partner_id", "partner", id)
	})
}
