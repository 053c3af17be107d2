using System.Text.Json;
using OrleansLlm.Tests.Infrastructure;
using Xunit.Abstractions;

namespace OrleansLlm.Tests.Cli;

/// <summary>
/// A new user's files, through the real CLI against a real silo: bad ones are refused with one line naming what the
/// file has, before anything is submitted (checked in Redis); good ones, whatever their delimiter, arrive whole; and
/// the summary accounts for every row.
/// </summary>
[Collection(CliClusterCollection.Name)]
[Trait("Category", "Process")]
public sealed class CliInputTests(CliCluster cluster, ITestOutputHelper output) : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("orleansllm-cli-").FullName;

    [Fact]
    public async Task CsvWithoutHeader_Refused_NamingTheColumnsFound_NothingSubmitted()
    {
        // The first city would become the header and be lost, and every other row dead-lettered later.
        var file = Write("no-header.csv", File.ReadLines(Cities.DataFile).Skip(1).Take(5));
        var batch = NewBatchId();

        var run = await cluster.RunAsync("submit", file, "--batch", batch);

        output.WriteLine(run.ToString());
        Assert.Equal(2, run.ExitCode);
        var line = Assert.Single(run.StderrLines);
        Assert.StartsWith($"error: {file}: the first row looks like data, not a header ('35.6897' is a number; columns found: Tokyo, Tokyo, 35.6897,", line);
        Assert.Empty(run.Stdout);
        Assert.True(await cluster.NothingSubmittedAsync(batch));
    }

    [Fact]
    public async Task CsvHeaderWithoutTheDefaultPromptsField_Refused_NothingSubmitted()
    {
        // No --prompt: the file is checked against the silo's own Prompt:Template ("... mayor of {city} ...").
        var file = Write("towns.csv", ["town,country", "Paris,France", "Oslo,Norway"]);
        var batch = NewBatchId();

        var run = await cluster.RunAsync("submit", file, "--batch", batch);

        output.WriteLine(run.ToString());
        Assert.Equal(2, run.ExitCode);
        Assert.Equal($"error: {file}: no column 'city' for the prompt's {{city}} (columns found: town, country)", Assert.Single(run.StderrLines));
        Assert.True(await cluster.NothingSubmittedAsync(batch));
    }

    [Fact]
    public async Task CsvWithSemicolons_IsDetected_AndEveryItemHasItsFields()
    {
        var file = Write("semicolons.csv", File.ReadLines(Cities.DataFile).Take(4).Select(l => l.Replace("\",\"", "\";\"", StringComparison.Ordinal)));
        var batch = NewBatchId();

        var submit = await cluster.RunAsync("submit", file, "--batch", batch, "--wait");
        var results = await cluster.RunAsync("results", batch);

        output.WriteLine(submit.ToString());
        Assert.Equal(0, submit.ExitCode);
        Assert.Contains($"read 3 rows of semicolons.csv (';'-separated): submitted 3 to batch {batch}", submit.Stderr);
        var documents = results.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(ResultDocument.Read).ToArray();
        Assert.Equal(["Tokyo", "Jakarta", "Delhi"], documents.Select(d => d.Input.Single(kv => kv.Key == "city").Value));
        Assert.All(documents, d => Assert.Equal(11, d.Input.Count));
        Assert.All(documents, d => Assert.Equal(1, d.Attempts));
    }

    [Fact]
    public async Task WrongDelimiterGiven_Refused_WithAHint()
    {
        var file = Write("semicolons.csv", ["city;country", "Paris;France"]);
        var batch = NewBatchId();

        var run = await cluster.RunAsync("submit", file, "--batch", batch, "--delimiter", ",");

        Assert.Equal(2, run.ExitCode);
        Assert.Equal(
            $"error: {file}: no column 'city' for the prompt's {{city}} (columns found: city;country); is the delimiter ';'? say so with --delimiter",
            Assert.Single(run.StderrLines));
        Assert.True(await cluster.NothingSubmittedAsync(batch));
    }

    [Fact]
    public async Task TabSeparatedFile_GivenAsTab_IsRead()
    {
        var file = Write("cities.tsv", ["city\tcountry\tid", "Paris\tFrance\tp1", "Oslo\tNorway\to1"]);
        var batch = NewBatchId();

        var run = await cluster.RunAsync("submit", file, "--batch", batch, "--delimiter", "tab");

        output.WriteLine(run.ToString());
        Assert.Equal(0, run.ExitCode);
        Assert.Contains($"read 2 rows of cities.tsv (tab-separated): submitted 2 to batch {batch}", run.Stderr);
        Assert.Equal(2, await cluster.Db.HashLengthAsync(cluster.Keys.BatchItems(batch)));
    }

    [Fact]
    public async Task JsonLinesWhoseFirstObjectsLackAPlaceholder_Refused_NamingTheFieldsFound()
    {
        var file = Write("items.jsonl", ["{\"town\":\"Paris\",\"id\":1}", "{\"town\":\"Oslo\",\"id\":2}"]);
        var batch = NewBatchId();

        var run = await cluster.RunAsync("submit", file, "--batch", batch);

        Assert.Equal(2, run.ExitCode);
        Assert.Equal($"error: {file}: no field 'city' for the prompt's {{city}} in the first 2 objects (fields found: town, id)", Assert.Single(run.StderrLines));
        Assert.True(await cluster.NothingSubmittedAsync(batch));
    }

    [Fact]
    public async Task Summary_CountsRowsRead_Submitted_SkippedByFilterWithReasons_AndRejected()
    {
        var batch = NewBatchId();

        var run = await cluster.RunAsync("submit", Cities.DataFile, "--batch", batch, "--min-population", "10000000");

        output.WriteLine(run.ToString());
        Assert.Equal(0, run.ExitCode);
        Assert.Equal(batch, run.Stdout.Trim());
        Assert.Equal(
            $"read 44691 rows of worldcities.csv: submitted 44 to batch {batch}, " +
            "skipped by filter 44647 (44340 with a population under 10,000,000, 307 without a population), rejected 0",
            Assert.Single(run.StderrLines));
    }

    [Fact]
    public async Task RowsWithoutAValueThePromptNeeds_AreRejected_Counted_WithTheirLines()
    {
        var file = Write("gaps.csv", ["city,country,id", "Paris,France,p1", ",Norway,o1", "Rome,Italy,r1", "\"\",Peru,l1"]);
        var batch = NewBatchId();

        var run = await cluster.RunAsync("submit", file, "--batch", batch, "--prompt", "Who is the mayor of {city}, {country}?");

        output.WriteLine(run.ToString());
        Assert.Equal(0, run.ExitCode);
        Assert.Equal($"read 4 rows of gaps.csv: submitted 2 to batch {batch}, skipped by filter 0, rejected 2 (2 with no value for city: lines 3, 5)",
            Assert.Single(run.StderrLines));
        Assert.Equal(2, await cluster.Db.HashLengthAsync(cluster.Keys.BatchItems(batch)));
    }

    [Fact]
    public async Task IdFieldGiven_ButNotAColumn_Refused()
    {
        var file = Write("cities.csv", ["city,country", "Paris,France"]);
        var batch = NewBatchId();

        var run = await cluster.RunAsync("submit", file, "--batch", batch, "--id", "code");

        Assert.Equal(2, run.ExitCode);
        Assert.Equal($"error: {file}: no column 'code' for the item ids (columns found: city, country)", Assert.Single(run.StderrLines));
        Assert.True(await cluster.NothingSubmittedAsync(batch));
    }

    [Fact]
    public async Task MinPopulation_WithoutAPopulationColumn_Refused()
    {
        var file = Write("cities.csv", ["city,country", "Paris,France"]);
        var batch = NewBatchId();

        var run = await cluster.RunAsync("submit", file, "--batch", batch, "--min-population", "1000");

        Assert.Equal(2, run.ExitCode);
        Assert.Equal($"error: {file}: no column 'population' for the population filter (columns found: city, country)", Assert.Single(run.StderrLines));
        Assert.True(await cluster.NothingSubmittedAsync(batch));
    }

    [Fact]
    public async Task Utf8_StaysUnescaped_InRedis_AndInEveryExport_CsvHasOneIdAndTheAnswerNamedAfterItsField()
    {
        var file = Write("accents.csv", ["city,country,id", "São Paulo,Brasil,sp", "Ōsaka,日本,os"]);
        var batch = NewBatchId();

        var submit = await cluster.RunAsync("submit", file, "--batch", batch, "--field", "boss", "--wait");
        var jsonl = await cluster.RunAsync("results", batch);
        var csv = await cluster.RunAsync("results", batch, "--format", "csv");

        output.WriteLine(submit.ToString());
        output.WriteLine(jsonl.Stdout);
        output.WriteLine(csv.Stdout);
        Assert.Equal(0, submit.ExitCode);
        Assert.Contains("\"city\":\"São Paulo\"", jsonl.Stdout);
        Assert.Contains("\"country\":\"日本\"", jsonl.Stdout);
        Assert.Contains("São Paulo", (string?)await cluster.Db.HashGetAsync(cluster.Keys.Results(batch), "sp"));
        var lines = csv.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal("id,city,country,boss,attempts,silo", lines[0]);
        Assert.StartsWith("sp,São Paulo,Brasil,", lines[1]);
        Assert.StartsWith("os,Ōsaka,日本,", lines[2]);
    }

    [Fact]
    public async Task CsvRowsWithTheWrongNumberOfFields_RefuseTheFile_InOneLineNamingTheLines()
    {
        var file = Write("ragged.csv", ["city,country", "Paris,France", "Oslo", "Rome,Italy,extra"]);
        var batch = NewBatchId();

        var run = await cluster.RunAsync("submit", file, "--batch", batch, "--prompt", "Mayor of {city}?");

        Assert.Equal(2, run.ExitCode);
        Assert.Equal(
            $"error: 2 bad rows in {file} (line 3: expected 2 fields, found 1; line 4: expected 2 fields, found 3); nothing was submitted",
            Assert.Single(run.StderrLines));
        Assert.True(await cluster.NothingSubmittedAsync(batch));
    }

    [Fact]
    public async Task InvalidUtf8_RefusesTheFile_InOneLineNamingTheLines_NothingSubmitted()
    {
        // A spreadsheet's Latin-1 export: "São Paulo" and "Bogotá" with one byte each for ã and á, the second in an id.
        var file = Path.Combine(_dir, "latin1.csv");
        await File.WriteAllBytesAsync(file, [.. "id,city\nsp,S"u8, 0xE3, .. "o Paulo\nlima,Lima\nbogot"u8, 0xE1, .. ",Bogota\n"u8]);
        var batch = NewBatchId();

        var run = await cluster.RunAsync("submit", file, "--batch", batch, "--prompt", "Mayor of {city}?");

        output.WriteLine(run.ToString());
        Assert.Equal(2, run.ExitCode);
        const string hint = "is the file in another encoding, such as Latin-1? save it as UTF-8";
        Assert.Equal(
            $"error: 2 bad rows in {file} (line 2: not valid UTF-8 (byte 0xE3 at column 5); {hint}; line 4: not valid UTF-8 (byte 0xE1 at column 6); {hint}); nothing was submitted",
            Assert.Single(run.StderrLines));
        Assert.Empty(run.Stdout);
        Assert.True(await cluster.NothingSubmittedAsync(batch));
    }

    [Fact]
    public async Task Results_UnknownBatch_IsAnError()
    {
        var run = await cluster.RunAsync("results", "no-such-batch");

        Assert.Equal(1, run.ExitCode);
        Assert.Equal("error: no batch no-such-batch (see 'orleansllm status' for the recent ones)", Assert.Single(run.StderrLines));
        Assert.Empty(run.Stdout);
    }

    [Fact]
    public async Task RuntimeError_OneLine_VerboseAddsTheStackTrace()
    {
        var quiet = await cluster.RunAsync("status", "no-such-batch");
        var verbose = await cluster.RunAsync("status", "no-such-batch", "--verbose");

        Assert.Equal(1, quiet.ExitCode);
        Assert.Equal("error: no batch no-such-batch (see 'orleansllm status' for the recent ones)", Assert.Single(quiet.StderrLines));
        Assert.Equal(1, verbose.ExitCode);
        Assert.StartsWith("error: no batch no-such-batch", verbose.StderrLines[0]);
        Assert.Contains("   at ", verbose.Stderr);
    }

    [Fact]
    public async Task ResultsOut_WritesTheFile_WholeOrNotAtAll()
    {
        var file = Write("two.csv", ["city,id", "Lima,l1", "Quito,q1"]);
        var batch = NewBatchId();
        var target = Path.Combine(_dir, "out.jsonl");
        await cluster.RunAsync("submit", file, "--batch", batch, "--wait");

        var run = await cluster.RunAsync("results", batch, "--out", target);

        Assert.Equal(0, run.ExitCode);
        Assert.Equal($"wrote 2 results to {target}", Assert.Single(run.StderrLines));
        Assert.Equal(["l1", "q1"], File.ReadAllLines(target).Select(l => JsonDocument.Parse(l).RootElement.GetProperty("id").GetString()));
        Assert.False(File.Exists(target + ".partial"));
    }

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static string NewBatchId() => $"t-{Guid.NewGuid():N}"[..14];

    private string Write(string name, IEnumerable<string> lines)
    {
        var path = Path.Combine(_dir, name);
        File.WriteAllLines(path, lines);
        return path;
    }
}
