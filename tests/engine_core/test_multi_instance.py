"""Multi-instance: parallel/sequential, over a collection or a count, with completion conditions."""

from tests.engine_core.helpers import activities, restore, runner


def test_parallel_approvals_over_a_collection_complete_on_two_of_three():
    r = runner("multi_instance.bpmn")
    instance = r.start({"approvers": ["ann", "ben", "cid"], "signers": ["x", "y"]})
    tasks = instance.effects().user_tasks
    assert [(t.activity_id, t.assignee, t.approval) for t in tasks] == [
        ("approve", "ann", True),
        ("approve", "ben", True),
        ("approve", "cid", True),
    ]
    by_assignee = {t.assignee: t for t in tasks}
    instance = restore(r, instance)
    instance.complete_user_task(by_assignee["ben"].task_id, {"outcome": "approved"})
    assert [t.assignee for t in instance.effects().user_tasks] == ["ann", "cid"]
    instance = restore(r, instance)
    instance.complete_user_task(by_assignee["cid"].task_id, {"outcome": "rejected"})
    assert [t.assignee for t in instance.effects().user_tasks] == ["ann"]
    instance = restore(r, instance)
    instance.complete_user_task(by_assignee["ann"].task_id, {"outcome": "approved"})
    effects = instance.effects()
    assert effects.user_tasks == ()
    assert [j.activity_id for j in effects.service_tasks] == ["notify_each"]
    assert "approver" not in effects.variables


def test_completion_condition_cancels_the_remaining_instances():
    r = runner("multi_instance.bpmn")
    instance = r.start({"approvers": ["ann", "ben", "cid"], "signers": []})
    tasks = {t.assignee: t for t in instance.effects().user_tasks}
    instance = restore(r, instance)
    instance.complete_user_task(tasks["ann"].task_id, {"outcome": "approved"})
    instance = restore(r, instance)
    instance.complete_user_task(tasks["cid"].task_id, {"outcome": "approved"})
    effects = instance.effects()
    assert effects.user_tasks == ()
    assert activities(effects, "cancelled") == ["approve"]
    assert [j.activity_id for j in effects.service_tasks] == ["notify_each"]


def test_sequential_count_and_sequential_collection():
    r = runner("multi_instance.bpmn")
    instance = r.start({"approvers": ["ann", "ben"], "signers": ["x", "y"]})
    for task in instance.effects().user_tasks:
        instance = restore(r, instance)
        instance.complete_user_task(task.task_id, {"outcome": "approved"})
    seen = []
    for _ in range(3):
        [job] = instance.effects().service_tasks
        seen.append(job.inputs["index"])
        instance = restore(r, instance)
        instance.complete_service_task(job.task_id, {})
    assert seen == [0, 1, 2]
    signers = []
    for _ in range(2):
        [task] = instance.effects().user_tasks
        signers.append(task.assignee)
        instance = restore(r, instance)
        instance.complete_user_task(task.task_id, {"signed_by": task.assignee})
    assert signers == ["x", "y"]
    effects = instance.effects()
    assert effects.status == "completed"
    assert effects.variables["signed_by"] == "y"


def test_parallel_count_with_completion_after_two_of_three():
    r = runner("mi_count.bpmn")
    instance = r.start({})
    tasks = instance.effects().user_tasks
    assert [(t.activity_id, t.candidate_groups) for t in tasks] == [("vote", ("board",))] * 3
    instance = restore(r, instance)
    instance.complete_user_task(tasks[2].task_id, {"outcome": "approved"})
    assert len(instance.effects().user_tasks) == 2
    instance = restore(r, instance)
    instance.complete_user_task(tasks[0].task_id, {"outcome": "rejected"})
    effects = instance.effects()
    assert effects.status == "completed"
    assert effects.user_tasks == ()
