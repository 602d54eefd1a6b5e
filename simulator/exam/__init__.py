"""Certification exams: exam files and question banks, drawn variants, attempts under exam conditions, the verdict
decided by code, certificates, and the exam owner's review (overrides, appeals, audit log). See docs/exams.md."""
