using OrleansLlm.Tests.Infrastructure;

namespace OrleansLlm.Tests.Cli;

/// <summary>
/// Mistakes on the command line, caught before anything connects: one line on stderr naming the argument and the
/// value, exit code 2, nothing on stdout, no help dump and no stack trace. No Redis or silo runs here, so these
/// tests also show that nothing was tried.
/// </summary>
[Trait("Category", "Process")]
public sealed class CliUsageErrorTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("orleansllm-cli-").FullName;

    // Nothing listens here: a command that got as far as connecting would fail differently (exit 1).
    private readonly Dictionary<string, string> _nowhere = new() { ["Redis__ConnectionString"] = $"127.0.0.1:{FreePorts.Next()}" };

    [Theory]
    [InlineData("--min-population abc", "error: --min-population: 'abc' is not a number")]
    [InlineData("--min-population -5", "error: --min-population: -5 is below 0")]
    [InlineData("--limit 0", "error: --limit: 0 is below 1")]
    [InlineData("--limit many", "error: --limit: 'many' is not a whole number")]
    [InlineData("--delimiter ab", "error: --delimiter: 'ab' is not a delimiter")]
    [InlineData("--batch default", "error: --batch: 'default' can't be a batch id")]
    [InlineData("--batch a/b", "error: --batch: 'a/b' can't be a batch id")]
    [InlineData("--field id", "error: --field: 'id' can't be an answer field")]
    [InlineData("--prompt nothing-to-fill", "error: --prompt: 'nothing-to-fill' has no {field} placeholder")]
    [InlineData("--connect-timeout soon", "error: --connect-timeout: 'soon' is not a duration")]
    public async Task SubmitOption_BadValue_OneLineNamingOptionAndValue_Exit2(string option, string expected)
    {
        var file = Write("cities.csv", "city,country\nParis,France\n");

        var run = await CliProcess.RunAsync(["submit", file, .. option.Split(' ')], _nowhere);

        AssertUsageError(run, expected);
    }

    [Theory]
    [InlineData("results b-1 --format xml", "error: --format: 'xml' is not one of jsonl, csv, table")]
    [InlineData("dead --format csv", "error: --format: 'csv' is not one of table, jsonl")]
    [InlineData("frobnicate", "error: 'frobnicate' is not a command: use one of submit, status, results, dead, cancel, retry, delete, cluster, drain, undrain")]
    [InlineData("", "error: give a command: submit, status, results, dead, cancel, retry, delete, cluster, drain, undrain")]
    [InlineData("submit", "error: Required argument missing for command: 'submit'")]
    [InlineData("undrain", "error: Required argument missing for command: 'undrain'")]
    [InlineData("status a b", "error: Unrecognized command or argument 'b'")]
    public async Task CommandLine_Wrong_OneLineOnStderr_NoHelpOnStdout_Exit2(string args, string expected)
    {
        var run = await CliProcess.RunAsync(args.Split(' ', StringSplitOptions.RemoveEmptyEntries), _nowhere);

        AssertUsageError(run, expected);
    }

    [Fact]
    public async Task MissingFile_OneLine_Exit2()
    {
        var path = Path.Combine(_dir, "nope.csv");

        var run = await CliProcess.RunAsync(["submit", path], _nowhere);

        AssertUsageError(run, $"error: FILE: no such file: {path}");
    }

    [Fact]
    public async Task OutIntoMissingDirectory_OneLine_Exit2_BeforeConnecting()
    {
        var path = Path.Combine(_dir, "no-such-dir", "results.csv");

        var run = await CliProcess.RunAsync(["results", "b-1", "--format", "csv", "--out", path], _nowhere);

        AssertUsageError(run, $"error: --out {path}: no such directory: {Path.GetDirectoryName(path)}");
        Assert.False(Directory.Exists(Path.GetDirectoryName(path)));
    }

    [Fact]
    public async Task OutIsADirectory_OneLine_Exit2()
    {
        var run = await CliProcess.RunAsync(["results", "b-1", "--out", _dir], _nowhere);

        AssertUsageError(run, $"error: --out {_dir}: is a directory");
    }

    [Fact]
    public async Task PromptPlaceholderNotAColumn_RefusedBeforeConnecting_NamingTheColumnsFound()
    {
        var file = Write("cities.csv", "city,country\nParis,France\n");

        var run = await CliProcess.RunAsync(["submit", file, "--prompt", "Who is the mayor of {cty} in {country}?"], _nowhere);

        AssertUsageError(run, $"error: {file}: no column 'cty' for the prompt's {{cty}} (columns found: city, country)");
    }

    // Without --prompt the batch takes the silo's prompt, which only the cluster knows; the file is still read and
    // checked whole before anything connects, so a bad one is refused for itself, not for the missing cluster.
    [Theory]
    [InlineData("cities.csv", "city,country\nParis,France\nOslo,Norway,extra\n", "line 3: expected 2 fields, found 3")]
    [InlineData("cities.jsonl", "{\"city\":\"Paris\"}\n[\"Oslo\"]\n", "line 2: expected a JSON object, found array")]
    public async Task BadFile_WithoutPrompt_RefusedForItsRows_BeforeConnecting(string name, string content, string error)
    {
        var file = Write(name, content);

        var run = await CliProcess.RunAsync(["submit", file, "--connect-timeout", "1"], _nowhere);

        AssertUsageError(run, $"error: 1 bad rows in {file} ({error}); nothing was submitted");
    }

    [Fact]
    public async Task HelpAsked_IsShownOnStdout_Exit0()
    {
        var run = await CliProcess.RunAsync(["submit", "--help"]);

        Assert.Equal(0, run.ExitCode);
        Assert.Contains("--delimiter", run.Stdout);
        Assert.Contains("--connect-timeout", run.Stdout);
        Assert.Empty(run.Stderr);
    }

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static void AssertUsageError(CliRun run, string expectedStart)
    {
        Assert.True(run.ExitCode == 2, $"expected exit 2: {run}");
        var line = Assert.Single(run.StderrLines);
        Assert.StartsWith(expectedStart, line);
        Assert.Empty(run.Stdout);
        Assert.DoesNotContain("   at ", run.Stderr);
    }

    private string Write(string name, string content)
    {
        var path = Path.Combine(_dir, name);
        File.WriteAllText(path, content);
        return path;
    }
}
