package main

import (
	"context"
	"fmt"

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
	return &installation{store: store, blobs: blobs, gw: gateway.New(store, blobs, box, opt)}, nil
}

func (i *installation) Close() error { return i.store.Close() }
