"""The journal of jobs submitted through flux-hub, which the panel's server follows."""

from flux_hub.journal import SubmittedJobs, journal_path


def test_the_journal_lives_next_to_the_job_name_file(tmp_path):
    assert journal_path(tmp_path / "job-names.json") == tmp_path / "submitted-jobs"


def test_a_reader_gets_each_new_id_once_and_none_from_before_it_started(tmp_path):
    path = tmp_path / "submitted-jobs"
    kernel = SubmittedJobs(path)
    kernel.add(11)
    server = SubmittedJobs(path).skip_to_end()
    assert server.new() == []
    kernel.add(12)
    SubmittedJobs(path).add(13)  # another kernel
    assert server.new() == [12, 13]
    assert server.new() == []
    with open(path, "a") as f:
        f.write("14\nnot an id\n1")  # damage, and a line still being written
    assert server.new() == [14]
    with open(path, "a") as f:
        f.write("5\n")
    assert server.new() == [15]


def test_a_long_journal_keeps_its_newest_half_and_readers_miss_nothing_after(tmp_path):
    path = tmp_path / "submitted-jobs"
    kernel = SubmittedJobs(path, limit=100)
    server = SubmittedJobs(path, limit=100).skip_to_end()
    for job_id in range(1, 150):
        kernel.add(job_id)
    assert len(path.read_text().splitlines()) < 150  # trimmed
    seen = server.new()
    kernel.add(1000)
    seen += server.new()
    assert 1000 in seen and len(seen) == len(set(seen))
    assert set(range(100, 150)) <= set(seen)


def test_a_missing_journal_has_no_ids(tmp_path):
    assert SubmittedJobs(tmp_path / "nowhere" / "submitted-jobs").skip_to_end().new() == []
