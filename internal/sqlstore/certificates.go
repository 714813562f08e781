package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"strings"

	"github.com/as2gate/as2gate"
)

const certColumns = `id, name, der, subject, issuer, serial, fingerprint, not_before, not_after, private_key, created_at`

func scanCertificate(r rowScanner) (*as2gate.Certificate, error) {
	var c as2gate.Certificate
	var notBefore, notAfter, created int64
	if err := r.Scan(&c.ID, &c.Name, &c.DER, &c.Subject, &c.Issuer, &c.Serial, &c.Fingerprint,
		&notBefore, &notAfter, &c.PrivateKey, &created); err != nil {
		return nil, err
	}
	c.NotBefore, c.NotAfter, c.CreatedAt = fromMillis(notBefore), fromMillis(notAfter), fromMillis(created)
	return &c, nil
}

// CreateCertificate stores c, giving it an ID and a creation time when it
// has none.
func (s *Store) CreateCertificate(ctx context.Context, c *as2gate.Certificate) error {
	id, created := orNewID(c.ID), orNow(c.CreatedAt)
	_, err := s.exec(ctx, `INSERT INTO certificates (`+certColumns+`) VALUES (`+placeholders(1, 11)+`)`,
		id, c.Name, c.DER, c.Subject, c.Issuer, c.Serial, c.Fingerprint,
		millis(c.NotBefore), millis(c.NotAfter), nullBytes(c.PrivateKey), millis(created))
	if isUnique(err) {
		return as2gate.Wrap(as2gate.EConflict, err, "a certificate with fingerprint %s is already stored", c.Fingerprint)
	}
	if err != nil {
		return dbError(err, "cannot store certificate %q", c.Name)
	}
	c.ID, c.CreatedAt = id, created
	return nil
}

// GetCertificate returns a certificate by ID.
func (s *Store) GetCertificate(ctx context.Context, id string) (*as2gate.Certificate, error) {
	c, err := scanCertificate(s.db.QueryRowContext(ctx, `SELECT `+certColumns+` FROM certificates WHERE id = $1`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, as2gate.Errorf(as2gate.ENotFound, "certificate %s not found", id)
	}
	if err != nil {
		return nil, dbError(err, "cannot read certificate %s", id)
	}
	return c, nil
}

// ListCertificates returns all certificates by name.
func (s *Store) ListCertificates(ctx context.Context) ([]*as2gate.Certificate, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+certColumns+` FROM certificates ORDER BY name, id`)
	if err != nil {
		return nil, dbError(err, "cannot list certificates")
	}
	defer rows.Close()
	var list []*as2gate.Certificate
	for rows.Next() {
		c, err := scanCertificate(rows)
		if err != nil {
			return nil, dbError(err, "cannot list certificates")
		}
		list = append(list, c)
	}
	if err := rows.Err(); err != nil {
		return nil, dbError(err, "cannot list certificates")
	}
	return list, nil
}

// UpdateCertificate saves c (all fields but ID and creation time).
func (s *Store) UpdateCertificate(ctx context.Context, c *as2gate.Certificate) error {
	n, err := affected(s.exec(ctx, `UPDATE certificates SET name = $2, der = $3, subject = $4, issuer = $5,
		serial = $6, fingerprint = $7, not_before = $8, not_after = $9, private_key = $10 WHERE id = $1`,
		c.ID, c.Name, c.DER, c.Subject, c.Issuer, c.Serial, c.Fingerprint,
		millis(c.NotBefore), millis(c.NotAfter), nullBytes(c.PrivateKey)))
	if isUnique(err) {
		return as2gate.Wrap(as2gate.EConflict, err, "a certificate with fingerprint %s is already stored", c.Fingerprint)
	}
	if err != nil {
		return dbError(err, "cannot save certificate %s", c.ID)
	}
	if n == 0 {
		return as2gate.Errorf(as2gate.ENotFound, "certificate %s not found", c.ID)
	}
	return nil
}

// DeleteCertificate deletes a certificate no station or partner uses.
func (s *Store) DeleteCertificate(ctx context.Context, id string) error {
	return s.write(ctx, func(tx *sql.Tx) error {
		var name string
		err := tx.QueryRowContext(ctx, `SELECT name FROM certificates WHERE id = $1`+s.d.forUpdate, id).Scan(&name)
		if errors.Is(err, sql.ErrNoRows) {
			return as2gate.Errorf(as2gate.ENotFound, "certificate %s not found", id)
		}
		if err != nil {
			return dbError(err, "cannot delete certificate %s", id)
		}
		users, err := certificateUsers(ctx, tx, id)
		if err != nil {
			return dbError(err, "cannot delete certificate %s", id)
		}
		if users != "" {
			return as2gate.Errorf(as2gate.EConflict, "certificate %q is used by %s", name, users)
		}
		_, err = tx.ExecContext(ctx, `DELETE FROM certificates WHERE id = $1`, id)
		if isForeignKey(err) { // taken into use meanwhile
			return as2gate.Wrap(as2gate.EConflict, err, "certificate %q is in use", name)
		}
		if err != nil {
			return dbError(err, "cannot delete certificate %s", id)
		}
		return nil
	})
}

// maxUsersNamed bounds how many users of a certificate an error names.
const maxUsersNamed = 5

// certificateUsers names the stations and partners using a certificate,
// "" when there are none.
func certificateUsers(ctx context.Context, q querier, id string) (string, error) {
	rows, err := q.QueryContext(ctx, `
		SELECT 'station', as2_id FROM stations WHERE cert_id = $1 OR next_cert_id = $1
		UNION ALL
		SELECT 'partner', as2_id FROM partners
		WHERE encrypt_cert_id = $1 OR sign_cert_id = $1 OR next_cert_id = $1 OR tls_cert_id = $1
		ORDER BY 1 DESC, 2 LIMIT $2`, id, maxUsersNamed+1)
	if err != nil {
		return "", err
	}
	defer rows.Close()
	var names []string
	for rows.Next() {
		var kind, as2ID string
		if err := rows.Scan(&kind, &as2ID); err != nil {
			return "", err
		}
		names = append(names, kind+" "+as2ID)
	}
	if err := rows.Err(); err != nil {
		return "", err
	}
	if len(names) > maxUsersNamed {
		names = append(names[:maxUsersNamed], "others")
	}
	return strings.Join(names, ", "), nil
}
