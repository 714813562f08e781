package main

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"path/filepath"

	"github.com/as2gate/as2gate"
	"github.com/as2gate/as2gate/internal/config"
	"github.com/as2gate/as2gate/internal/fsblob"
	"github.com/as2gate/as2gate/internal/gateway"
	"github.com/as2gate/as2gate/internal/secretbox"
	"github.com/as2gate/as2gate/internal/sqlstore"
)

// installation is the data an as2gate installation keeps: its database,
// its blobs under the data folder, and its master key. `serve` and the
// administrative commands open the same one, also while the server runs.
type installation struct {
	store *sqlstore.Store
	blobs *fsblob.Store
	gw    *gateway.Gateway
}

func openInstallation(ctx context.Context, inst *config.Installation, opt gateway.Options) (*installation, error) {
	box, err := secretbox.LoadOrCreate(inst.DataDir, inst.MasterKey)
	if err != nil {
		return nil, fmt.Errorf("master key: %w", err)
	}
	blobs, err := fsblob.New(inst.DataDir)
	if err != nil {
		return nil, fmt.Errorf("data folder %s: %w", inst.DataDir, err)
	}
	store, err := sqlstore.Open(ctx, inst.Database)
	if err != nil {
		return nil, fmt.Errorf("database: %w", err)
	}
	if opt.TempDir == "" {
		opt.TempDir = blobs.TempDir()
	}
	gw := gateway.New(store, blobs, box, opt)
	if err := checkMasterKey(ctx, store, box, gw); err != nil {
		store.Close()
		return nil, fmt.Errorf("master key (%s): %w", keySource(inst), err)
	}
	return &installation{store: store, blobs: blobs, gw: gw}, nil
}

func (i *installation) Close() error { return i.store.Close() }

// masterKeyCheck names the setting that holds the check value: a known text
// sealed with the master key, which opens only with the same key.
const masterKeyCheck = "master_key_check"

var errWrongMasterKey = errors.New("this is not the master key that sealed the private keys in the database")

// checkMasterKey makes a wrong master key stop the start, rather than every
// message later, when a private key fails to open. The first start records
// the check value; a database from before the check gets it too, once a
// private key already sealed there has opened with the key.
func checkMasterKey(ctx context.Context, store *sqlstore.Store, box *secretbox.Box, gw *gateway.Gateway) error {
	check, err := store.Setting(ctx, masterKeyCheck)
	if as2gate.ErrorCode(err) == as2gate.ENotFound {
		if ok, err := gw.OpensPrivateKeys(ctx); err != nil || !ok {
			return cmp.Or(err, errWrongMasterKey)
		}
		if check, err = box.Seal([]byte(masterKeyCheck), nil); err != nil {
			return err
		}
		check, err = store.InitSetting(ctx, masterKeyCheck, check)
	}
	if err != nil {
		return err
	}
	if text, err := box.Open(check, nil); err != nil || !bytes.Equal(text, []byte(masterKeyCheck)) {
		return errWrongMasterKey
	}
	return nil
}

// keySource names where the master key came from, for the operator to check.
func keySource(inst *config.Installation) string {
	if inst.MasterKey != "" {
		return "AS2GATE_MASTER_KEY"
	}
	return filepath.Join(inst.DataDir, secretbox.KeyFile)
}
