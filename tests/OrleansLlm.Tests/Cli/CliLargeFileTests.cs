using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using OrleansLlm.Client;
using OrleansLlm.Tests.Infrastructure;
using Xunit.Abstractions;

namespace OrleansLlm.Tests.Cli;

/// <summary>
/// Files larger than the memory the CLI is given: the real CLI runs with a GC heap capped at 32 MiB
/// (<c>DOTNET_GCHeapHardLimit</c>) on files of 64 MiB, so reading one whole, or keeping its items, ends in an
/// <see cref="OutOfMemoryException"/>, not in what these tests expect. Both of submit's passes are covered: the check
/// of every row, and the reading of the items as they are sent.
/// </summary>
[Collection(CliClusterCollection.Name)]
[Trait("Category", "Process")]
public sealed class CliLargeFileTests(CliCluster cluster, ITestOutputHelper output) : IDisposable
{
    private const long FileBytes = 64L * 1024 * 1024;

    private readonly string _dir = Directory.CreateTempSubdirectory("orleansllm-large-").FullName;

    /// <summary>The CLI's environment, with less heap than the file's size.</summary>
    private Dictionary<string, string> Environment => new(cluster.Environment) { ["DOTNET_GCHeapHardLimit"] = "0x2000000" };

    [Theory]
    [InlineData("csv")]
    [InlineData("jsonl")]
    [InlineData("openai")]
    public async Task LargeFile_WithABadLastRow_IsCheckedWhole_InBoundedMemory_NothingSubmitted(string format)
    {
        var (path, rows) = Write(format, badLastRow: true);
        var batch = NewBatchId();
        string[] prompt = format == "openai" ? [] : ["--prompt", "Who is the mayor of {city}?"];

        var run = await CliProcess.RunAsync(["submit", path, "--batch", batch, .. prompt], Environment);

        output.WriteLine(run.ToString());
        Assert.Equal(2, run.ExitCode);
        Assert.StartsWith($"error: 1 bad rows in {path} (line {rows + (format == "csv" ? 2 : 1)}: ", Assert.Single(run.StderrLines));
        Assert.True(await cluster.NothingSubmittedAsync(batch));
    }

    [Fact]
    public async Task LargeFile_IsSentAsItIsRead_InBoundedMemory()
    {
        var (path, rows) = Write("csv", badLastRow: false);
        var batch = NewBatchId();
        // A model no silo has: the items sent wait, set aside, rather than keep the shared silo busy after the test.
        using var cli = CliProcess.Start(["submit", path, "--batch", batch, "--prompt", "Who is the mayor of {city}?", "--model", "nobody-has-it:1b"], Environment);
        try
        {
            // Items in the batch while the CLI runs: the check of every row is over, and the sending has begun.
            await Eventually.TrueAsync(async () => await cluster.Db.HashLengthAsync(cluster.Keys.BatchItems(batch)) >= 2000, "the first chunks to be sent",
                describe: () => Task.FromResult(cli.Stderr));
            // Redis takes no writes for a moment, so the CLI is surely still sending when Ctrl-C comes: on a loaded
            // machine it once sent the whole file between the check above and the signal.
            await cluster.Db.ExecuteAsync("CLIENT", "PAUSE", "30000", "WRITE");
            CliRun run;
            try
            {
                cli.Interrupt();
                run = await cli.WaitAsync(CliProcess.DefaultTimeout);
            }
            finally
            {
                await cluster.Db.ExecuteAsync("CLIENT", "UNPAUSE");
            }

            output.WriteLine(run.ToString());
            Assert.Equal(130, run.ExitCode);
            var said = Regex.Match(run.Stderr, $@"batch {batch} is not sealed: (\d+) of {rows} items were sent;");
            Assert.True(said.Success, run.Stderr);
            var sent = int.Parse(said.Groups[1].Value, CultureInfo.InvariantCulture);
            Assert.InRange(sent, BatchSubmitter.DefaultChunkSize, rows - 1);
            // A chunk on its way when Ctrl-C came may have arrived without the CLI hearing of it.
            Assert.InRange(await cluster.Db.HashLengthAsync(cluster.Keys.BatchItems(batch)), sent, sent + BatchSubmitter.DefaultChunkSize);
        }
        finally
        {
            output.WriteLine((await cluster.RunAsync("cancel", batch)).ToString());
        }
    }

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static string NewBatchId() => $"t-{Guid.NewGuid():N}"[..14];

    /// <summary>Writes a file of <see cref="FileBytes"/> in the format, of good rows and, if asked, a bad one after them.</summary>
    /// <returns>The file, and how many good rows it has.</returns>
    private (string Path, int Rows) Write(string format, bool badLastRow)
    {
        var path = Path.Combine(_dir, format == "csv" ? "cities.csv" : $"{format}.jsonl");
        var notes = new string('n', format == "openai" ? 1000 : 100);
        using var file = new StreamWriter(path, append: false, new UTF8Encoding(false), bufferSize: 1 << 20);
        if (format == "csv")
        {
            file.WriteLine("id,city,notes");
        }

        var rows = 0;
        while (file.BaseStream.Position < FileBytes)
        {
            file.WriteLine(format switch
            {
                "csv" => $"c{rows},City {rows},{notes}",
                "jsonl" => JsonSerializer.Serialize(new { id = $"c{rows}", city = $"City {rows}", notes }),
                _ => JsonSerializer.Serialize(new
                {
                    custom_id = $"c{rows}",
                    method = "POST",
                    url = "/v1/chat/completions",
                    body = new { model = "qwen2:1.5b", messages = new[] { new { role = "user", content = $"Who is the mayor of City {rows}? {notes}" } } },
                }),
            });
            rows++;
        }

        if (badLastRow)
        {
            file.WriteLine(format == "csv" ? "bad" : "[]");
        }

        return (path, rows);
    }
}
