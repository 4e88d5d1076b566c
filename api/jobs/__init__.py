"""Jobs and their queue: a job's solve in a solver process (process), the processes that run them
(runner) and the queue that hands jobs to them (queue)."""
