"""The cluster's warm runners: one long-lived RunActor per CPU slot, kept by the shared queue.

A fresh Ray actor per run imports torch before its first step (seconds, while it holds its slot:
bench/README-load.md measured 5.2 runs a minute on Ray against 29.6 locally). Instead the queue
actor (trainers.cluster_queue.ClusterQueue, which owns the slots) starts one runner per slot
when it is created, each importing torch and the run function's module at once, and hands a
granted run its slot's runner: the run starts in a warm process, and the pool holds exactly the
CPUs (`max_jobs` x `threads_per_job`) that the queue lets train at once.

A runner is replaced, never reused, after a crash, a kill (a stop not obeyed in time), an
out-of-memory, or when the replica using it went silent (its run may still be training): the
replica that saw it asks `replace_runner(slot, runner)`, and the queue kills that runner and
starts a fresh one in its slot. The runners are detached actors, like the queue, so they
outlive the replica that created the queue; `remove_queue` ends the queue and its runners.
"""
from __future__ import annotations

import itertools

import ray

from trainers.cluster_queue import ClusterQueue
from trainers.ray_run import RunActor

NAMESPACE = "layerloom"


class RunnerQueue(ClusterQueue):
    """The ClusterQueue as a Ray actor that also keeps each CPU slot's warm runner.

    name: the queue's actor name (its runners are named after it); threads: CPUs per runner
    (`threads_per_job`); warm_modules: what a runner imports before its first run.
    """

    def __init__(self, max_jobs: int, runs_per_session: int, *, name: str, threads: int,
                 warm_modules: list[str]):
        super().__init__(max_jobs, runs_per_session)
        self._name, self._threads, self._warm_modules = name, threads, warm_modules
        self._generation = itertools.count(1)
        self._runners = [self._new_runner(slot) for slot in range(max_jobs)]

    def poll(self, replica: str, waiting: tuple = (), running: tuple = ()) -> dict:
        """ClusterQueue.poll, each run to start with its slot's runner: [(job id, slot,
        runner)] (slot and runner None for a GPU run, which starts an actor of its own)."""
        reply = super().poll(replica, waiting, running)
        reply["start"] = [(job_id, slot, None if slot is None else self._runners[slot])
                          for job_id, slot in reply["start"]]
        return reply

    def replace_runner(self, slot: int, runner) -> None:
        """`runner` crashed, was killed or must not train again: a fresh one takes `slot` (once:
        a second report of the same runner finds it replaced already)."""
        if self._runners[slot] == runner:
            self._replace(slot)

    def retire(self) -> None:
        """End every runner (the queue itself is removed next)."""
        for runner in self._runners:
            ray.kill(runner, no_restart=True)

    def _slot_abandoned(self, slot: int) -> None:
        self._replace(slot)  # a silent replica's run may still train there: end it

    def _replace(self, slot: int) -> None:
        ray.kill(self._runners[slot], no_restart=True)
        self._runners[slot] = self._new_runner(slot)

    def _new_runner(self, slot: int):
        return ray.remote(RunActor).options(
            name=f"{self._name}-runner-{slot}-{next(self._generation)}", namespace=NAMESPACE,
            lifetime="detached", num_cpus=self._threads, max_restarts=0, max_task_retries=0,
        ).remote(self._warm_modules)


def remove_queue(queue) -> None:
    """End a queue actor and its runners (tests and benchmarks; a cluster's `ray stop` does it
    for a deployment)."""
    try:
        ray.get(queue.retire.remote(), timeout=30)
    finally:
        ray.kill(queue, no_restart=True)
