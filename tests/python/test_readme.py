"""The README's Python example runs as written and prints what it says."""

import contextlib
import io
import os
import re
import unittest

README = os.path.join(os.path.dirname(__file__), "..", "..", "README.md")


class ReadmeTest(unittest.TestCase):
    def test_python_example(self):
        with open(README, encoding="utf-8") as f:
            text = f.read()
        block = re.search(r"## From Python\n\n```python\n(.*?)```", text, re.S)
        self.assertIsNotNone(block, "README has no Python example")
        code = block.group(1)
        output = io.StringIO()
        with contextlib.redirect_stdout(output):
            exec(compile(code, "README.md", "exec"), {})
        lines = output.getvalue().splitlines()
        expected = [re.search(r"#\s*(.*)$", line).group(1).split("  (")[0].strip()
                    for line in code.splitlines() if "print(" in line and "#" in line]
        self.assertEqual(len(lines), len(expected))
        for got, want in zip(lines, expected):
            self.assertEqual(got, want)

    def test_c_example_is_the_built_one(self):
        with open(README, encoding="utf-8") as f:
            text = f.read()
        block = re.search(r"## From C\n\n```c\n(.*?)```", text, re.S).group(1)
        quickstart = os.path.join(os.path.dirname(__file__), "..", "..", "examples", "c", "quickstart.c")
        with open(quickstart, encoding="utf-8") as f:
            self.assertIn(block, f.read())


if __name__ == "__main__":
    unittest.main()
