package triggers

import (
	"errors"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"
)

// explain adds the fix to the database errors install and uninstall meet.
func explain(err error) error {
	var pe *pgconn.PgError
	if !errors.As(err, &pe) {
		return err
	}
	switch pe.Code {
	case "42501": // insufficient_privilege
		switch {
		case strings.Contains(pe.Message, "must be owner"):
			return fmt.Errorf("%s: dropping a trigger needs ownership of its table: run uninstall as the table's owner, or print the SQL with --print-sql for one", pe.Message)
		case strings.Contains(pe.Message, "database"):
			return fmt.Errorf("%s: creating the schema needs CREATE on the database (GRANT CREATE ON DATABASE ... TO ...), or have a DBA run the SQL of --print-sql", pe.Message)
		}
		return fmt.Errorf("%s: installing needs the TRIGGER privilege on each table and each partition of a partitioned one (GRANT TRIGGER ON <table> TO <role>) and CREATE on the database, or have a DBA run the SQL of --print-sql", pe.Message)
	case "55P03": // lock_not_available
		return fmt.Errorf("%s: a long transaction holds a lock on a table; try again when it has ended", pe.Message)
	case "2BP01": // dependent_objects_still_exist
		return fmt.Errorf("%s: the schema holds objects pgcdc did not create; drop them or keep the schema", pe.Message)
	}
	return err
}
