"""The engine runtime: the Django side of running BPMN, one module per concern.

``apps.engine.services`` is the public face (callers import from there); these modules are read
in this order:

| module        | concern                                                                  |
|---------------|--------------------------------------------------------------------------|
| hooks         | what the engine tells the layers above (``apps.common.hooks``: doorbell, user tasks, advances) |
| state         | lock an instance, load its core state; the write path (``persist_start``, ``persist_advance``, ``persist_job_result``, ``persist_chain``) |
| projections   | job rows, timer rows, message subscriptions, user tasks in step with the core |
| failures      | what a connector's exception means: business error, permanent, retryable |
| instances     | start, complete a user task, cancel, suspend, resume                     |
| incidents     | failed attempts: retry with backoff, or an incident; retry an incident   |
| jobs          | the lease path: claim, run the connector outside the lock, apply; the sweeper |
| continuation  | what a worker does when the doorbell rings (``job_run``: chain, else lease path); job chains: chainable steps run ahead of the lock, applied in one transaction |
| timers        | timer rows and timer-start schedules                                     |
| messages      | message correlation and message starts                                   |
| repairs       | operator repairs: bulk incident retry, set a variable, move a token back |

The life of a request (``POST /api/v1/tasks/7/complete/``): the API view parses and checks access,
calls ``inbox.services.task_complete``, which opens a transaction, locks the instance row
(``state.instance_lock``), records the task's audit event and calls
``instances.user_task_complete``; that loads the core state (``state.load``), lets
``apps.engine.core`` advance it, and ``state.persist_advance`` writes the state, job/timer/subscription
rows, tells the inbox about user tasks (``hooks.user_tasks_changed.send``) and writes the step's audit
in the same transaction. After commit, ``hooks.ring_after_commit`` sends "look at job N" (``hooks.job_announced``) to
the broker; a worker's ``engine.answer_doorbell`` task calls ``continuation.job_run``. docs/architecture.md has
the whole picture.
"""
