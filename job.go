package as2gate

import "time"

// JobKind is what a job does.
type JobKind string

const (
	// JobSend sends an outbound message (and handles a sync MDN).
	JobSend JobKind = "send"
	// JobMDNTimeout marks an outbound message incomplete when its
	// asynchronous MDN has not come in time.
	JobMDNTimeout JobKind = "mdn_timeout"
	// JobSendMDN delivers an asynchronous MDN for an inbound message.
	JobSendMDN JobKind = "send_mdn"
)

// Job is durable work on a message, claimed by one worker at a time under
// a lease, so that the work of a crashed worker is taken up again.
type Job struct {
	ID         string
	Kind       JobKind
	MessageID  string // the record ID (Message.ID)
	RunAt      time.Time
	Attempts   int // claims so far
	LeaseOwner string
	LeaseUntil time.Time
	LastError  string
	CreatedAt  time.Time
}

// JobChange is what an update of a message does to its jobs, in the same
// transaction.
type JobChange struct {
	// Owner, when set, makes Done and Retry apply only to a job still
	// leased to it: a worker whose lease ran out must not finish or
	// reschedule what another has taken over (the change fails with
	// ENotFound and the message is not updated).
	Owner string
	// Done removes a finished job.
	Done string
	// Retry puts a job back for a later run.
	Retry *Job
	// Enqueue adds jobs.
	Enqueue []Job
	// CancelKinds removes the message's pending jobs of these kinds.
	CancelKinds []JobKind
}
