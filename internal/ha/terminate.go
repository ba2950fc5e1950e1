package ha

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// TerminateSlotHolder ends the backend that still holds the replication
// slot (a walsender of the previous leader that has not noticed it lost
// the lease), so that this leader can start replication at once. It
// returns how many backends it terminated (0 or 1). The role needs
// pg_signal_backend or superuser, or to be the same role.
func TerminateSlotHolder(ctx context.Context, dsn, slot string) (int, error) {
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return 0, fmt.Errorf("connect to terminate the old leader's walsender: %w", err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	rows, err := conn.Query(ctx, `SELECT pg_terminate_backend(active_pid) FROM pg_replication_slots WHERE slot_name = $1 AND active`, slot)
	if err != nil {
		return 0, fmt.Errorf("terminate the walsender holding slot %q: %w", slot, err)
	}
	n := 0
	for rows.Next() {
		n++
	}
	return n, rows.Err()
}
