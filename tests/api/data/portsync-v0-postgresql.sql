-- The schema create_all() made on PostgreSQL before migrations (main at ca550aa), as its DDL.

CREATE TABLE problems (
	id VARCHAR(36) NOT NULL, 
	sha256 VARCHAR(64) NOT NULL, 
	name VARCHAR(200) NOT NULL, 
	calls INTEGER NOT NULL, 
	body TEXT NOT NULL, 
	created_at TIMESTAMP WITH TIME ZONE NOT NULL, 
	PRIMARY KEY (id)
);

CREATE INDEX ix_problems_sha256 ON problems (sha256);

CREATE TABLE jobs (
	seq SERIAL NOT NULL, 
	id VARCHAR(36) NOT NULL, 
	owner VARCHAR(64) NOT NULL, 
	idempotency_key VARCHAR(255), 
	request_hash VARCHAR(64) NOT NULL, 
	problem_id VARCHAR(36) NOT NULL, 
	problem_name VARCHAR(200) NOT NULL, 
	calls INTEGER NOT NULL, 
	options TEXT NOT NULL, 
	status VARCHAR(16) NOT NULL, 
	stop_requested BOOLEAN NOT NULL, 
	attempt INTEGER NOT NULL, 
	restarts INTEGER NOT NULL, 
	crashes INTEGER NOT NULL, 
	created_at TIMESTAMP WITH TIME ZONE NOT NULL, 
	started_at TIMESTAMP WITH TIME ZONE, 
	attempt_started_at TIMESTAMP WITH TIME ZONE, 
	finished_at TIMESTAMP WITH TIME ZONE, 
	heartbeat_at TIMESTAMP WITH TIME ZONE, 
	spent_s FLOAT NOT NULL, 
	error TEXT, 
	objective FLOAT, 
	best_bound FLOAT, 
	gap FLOAT, 
	solver_seconds FLOAT, 
	solutions INTEGER NOT NULL, 
	improvements INTEGER NOT NULL, 
	solver_status VARCHAR(32), 
	plan TEXT, 
	plan_at TIMESTAMP WITH TIME ZONE, 
	PRIMARY KEY (seq), 
	CONSTRAINT uq_jobs_owner_idempotency_key UNIQUE (owner, idempotency_key), 
	UNIQUE (id), 
	FOREIGN KEY(problem_id) REFERENCES problems (id)
);

CREATE INDEX ix_jobs_owner_seq ON jobs (owner, seq);

CREATE INDEX ix_jobs_status_seq ON jobs (status, seq);

CREATE TABLE plan_improvements (
	id SERIAL NOT NULL, 
	job_id VARCHAR(36) NOT NULL, 
	seq INTEGER NOT NULL, 
	attempt INTEGER NOT NULL, 
	created_at TIMESTAMP WITH TIME ZONE NOT NULL, 
	objective FLOAT, 
	best_bound FLOAT, 
	gap FLOAT, 
	seconds FLOAT, 
	solutions INTEGER NOT NULL, 
	final BOOLEAN NOT NULL, 
	assignments TEXT NOT NULL, 
	PRIMARY KEY (id), 
	FOREIGN KEY(job_id) REFERENCES jobs (id)
);

CREATE INDEX ix_plan_improvements_job_seq ON plan_improvements (job_id, seq);
