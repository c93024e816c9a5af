"""Lessons: one-click experiments whose promised observation is a checked claim (lesson format:
docs/lessons.md)."""
from trainers.lessons.claims import QUANTITIES, ClaimCheck, RunOutcome, check_claim
from trainers.lessons.format import Claim, Lesson, LessonError, Measure, list_lessons, load_lesson, parse_lesson
from trainers.lessons.run import lesson_run_spec, run_lesson

__all__ = ["QUANTITIES", "Claim", "ClaimCheck", "Lesson", "LessonError", "Measure", "RunOutcome",
           "check_claim", "lesson_run_spec", "list_lessons", "load_lesson", "parse_lesson", "run_lesson"]
