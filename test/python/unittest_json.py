#!/usr/bin/python3
"""Run a folder of unittest files and print one JSON line per test, then a summary line.

    PYTHON unittest_json.py TESTS_DIR

So that test/python/python-client.test.ts can report each Python test as its own node test. The summary
says where `framewire` was imported from, which proves the tests ran against the installed package.
"""
import json
import sys
import unittest


class JsonResult(unittest.TestResult):
    def __init__(self) -> None:
        super().__init__()
        self.records = {}

    def _record(self, test, outcome, detail=""):
        r = self.records.setdefault(test.id(), {"test": test.id(), "outcome": "ok", "detail": ""})
        if outcome != "ok":
            r["outcome"] = outcome
            r["detail"] = (r["detail"] + "\n" + detail).strip()

    def startTest(self, test):
        super().startTest(test)
        self._record(test, "ok")

    def addFailure(self, test, err):
        super().addFailure(test, err)
        self._record(test, "fail", self._exc_info_to_string(err, test))

    def addError(self, test, err):
        super().addError(test, err)
        self._record(test, "error", self._exc_info_to_string(err, test))

    def addSkip(self, test, reason):
        super().addSkip(test, reason)
        self._record(test, "skip", reason)

    def addSubTest(self, test, subtest, err):
        super().addSubTest(test, subtest, err)
        if err is not None:
            outcome = "fail" if issubclass(err[0], test.failureException) else "error"
            self._record(test, outcome, f"{subtest.id()}: {self._exc_info_to_string(err, test)}")


def main() -> int:
    folder = sys.argv[1]
    suite = unittest.defaultTestLoader.discover(folder, top_level_dir=folder)
    result = JsonResult()
    suite.run(result)
    for r in result.records.values():
        print(json.dumps(r), flush=True)
    import framewire

    print(json.dumps({"summary": {"run": result.testsRun, "ok": result.wasSuccessful()}, "framewire": framewire.__file__}))
    return 0 if result.wasSuccessful() else 1


if __name__ == "__main__":
    sys.exit(main())
