using System.ClientModel.Primitives;
using System.Text.Json;
using OllamaSim;
using OpenAI.Chat;
using OrleansLlm.Tests.Cli;
using OrleansLlm.Tests.Infrastructure;
using Xunit.Abstractions;

namespace OrleansLlm.Tests.Formats;

/// <summary>The real <c>orleansllm</c> CLI against a real silo process: OpenAI files in and out, batch options, the error file, status.</summary>
[Collection(CliClusterCollection.Name)]
[Trait("Category", "Process")]
public sealed class FormatsCliTests(CliCluster cluster, ITestOutputHelper output) : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("orleansllm-formats-").FullName;

    [Fact]
    public async Task OpenAiFile_WithMissingAndRepeatedCustomIds_OneLineEach_NothingSubmitted()
    {
        var path = Path.Combine(_dir, "bad-ids.jsonl");
        await File.WriteAllLinesAsync(path,
        [
            Line("a", "Who is the mayor of Paris?"),
            """{"method":"POST","url":"/v1/chat/completions","body":{"model":"qwen2:1.5b","messages":[{"role":"user","content":"x"}]}}""",
            Line("a", "Who is the mayor of Oslo?"),
        ]);

        var run = await cluster.RunAsync("submit", path, "--batch", "bad-ids");

        output.WriteLine(run.ToString());
        Assert.Equal(2, run.ExitCode);
        // One line, naming each bad line, as every submit error is.
        var error = Assert.Single(run.Stderr.Trim().Split('\n'));
        Assert.StartsWith($"error: 2 bad rows in {path} (", error);
        Assert.Contains("line 2: custom_id is missing; every line needs a non-empty string custom_id", error);
        Assert.Contains("line 3: custom_id 'a' is also on line 1; each line needs its own", error);
        Assert.EndsWith("nothing was submitted", error);
        Assert.Empty(run.Stdout);
        Assert.False(await cluster.Db.KeyExistsAsync(cluster.Keys.Batch("bad-ids")));
        Assert.Equal(0, await cluster.Db.ListLengthAsync(cluster.Keys.Ready));
    }

    [Fact]
    public async Task OpenAiFile_WithAMethodOrUrlThatIsNoString_OneLineNamingTheLines_NothingSubmitted()
    {
        var path = Path.Combine(_dir, "bad-types.jsonl");
        await File.WriteAllLinesAsync(path,
        [
            Line("a", "Who is the mayor of Paris?"),
            Line("b", "Who is the mayor of Oslo?").Replace("\"method\":\"POST\"", "\"method\":1", StringComparison.Ordinal),
            Line("c", "Who is the mayor of Rome?").Replace("\"url\":\"/v1/chat/completions\"", "\"url\":[\"/v1/chat/completions\"]", StringComparison.Ordinal),
        ]);

        var run = await cluster.RunAsync("submit", path, "--batch", "bad-types");

        output.WriteLine(run.ToString());
        Assert.Equal(2, run.ExitCode);
        Assert.Equal(
            $"error: 2 bad rows in {path} (line 2: method must be POST (was 1); line 3: url must be /v1/chat/completions or /v1/completions (was [\"/v1/chat/completions\"])); nothing was submitted",
            Assert.Single(run.Stderr.Trim().Split('\n')));
        Assert.Empty(run.Stdout);
        Assert.False(await cluster.Db.KeyExistsAsync(cluster.Keys.Batch("bad-types")));
    }

    [Fact]
    public async Task OpenAiFile_InAndOut_ReadByTheOfficialTypes_AndStatusCountsTokens()
    {
        var path = Path.Combine(_dir, "requests.jsonl");
        var cities = new[] { "Paris", "Oslo", "Lagos", "Lima", "Osaka", "Quito" };
        await File.WriteAllLinesAsync(path, cities.Select((c, i) => Line($"request-{i + 1}", $"Who is the mayor of {c}?")));

        var submit = await cluster.RunAsync("submit", path, "--batch", "openai-cli", "--model", "qwen2:1.5b", "--wait");
        var results = await cluster.RunAsync("results", "openai-cli", "--format", "openai");
        var status = await cluster.RunAsync("status", "openai-cli");

        output.WriteLine(submit.ToString());
        output.WriteLine(results.Stdout);
        output.WriteLine(status.ToString());
        Assert.Equal(0, submit.ExitCode);
        Assert.Equal(0, results.ExitCode);
        var lines = results.Stdout.Trim().Split('\n').Select(l => JsonDocument.Parse(l).RootElement).ToList();
        Assert.Equal(cities.Select((_, i) => $"request-{i + 1}"), lines.Select(l => l.GetProperty("custom_id").GetString()));
        long completionTokens = 0;
        foreach (var (line, city) in lines.Zip(cities))
        {
            var completion = ModelReaderWriter.Read<ChatCompletion>(BinaryData.FromString(line.GetProperty("response").GetProperty("body").GetRawText()))!;
            Assert.Equal(SimulatedModel.AnswerFor($"Who is the mayor of {city}?").Trim(), completion.Content[0].Text);
            completionTokens += completion.Usage.OutputTokenCount;
        }

        Assert.Equal(0, status.ExitCode);
        var tokens = status.Stdout.Split('\n').Single(l => l.TrimStart().StartsWith("tokens: ", StringComparison.Ordinal));
        Assert.Contains($"+ {completionTokens:N0} completion; Ollama ", tokens);
    }

    [Fact]
    public async Task CliOptions_SentWithEveryItem()
    {
        var csv = Path.Combine(_dir, "cities.csv");
        await File.WriteAllLinesAsync(csv, File.ReadLines(Cities.DataFile).Take(6));
        var since = cluster.Simulator.GetRequests(limit: 1).Requests.LastOrDefault()?.Sequence ?? 0;

        var submit = await cluster.RunAsync(
            "submit", csv, "--batch", "cli-options", "--prompt", "Mayor of {city}?", "--model", BatchRequests.OtherModel,
            "--temperature", "0.3", "--top-p", "0.8", "--seed", "5", "--num-ctx", "2048", "--max-tokens", "40", "--stop", "END", "--stop", "###",
            "--system", "Answer with a name.", "--wait");

        output.WriteLine(submit.ToString());
        Assert.Equal(0, submit.ExitCode);
        var requests = cluster.Simulator.GetRequests(since: since).Requests.Where(r => r.Prompt!.StartsWith("Mayor of ", StringComparison.Ordinal)).ToList();
        Assert.Equal(5, requests.Count);
        Assert.All(requests, r => Assert.Equal(BatchRequests.OtherModel, r.Model));
        Assert.All(requests, r => Assert.Equal("Answer with a name.", r.System));
        Assert.Single(requests.Select(r => r.Options!.Value.GetRawText()).Distinct());
        var options = requests[0].Options!.Value.EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetRawText());
        Assert.Equal(
            new Dictionary<string, string>
            {
                ["temperature"] = "0.3", ["top_p"] = "0.8", ["seed"] = "5", ["num_ctx"] = "2048", ["num_predict"] = "40", ["stop"] = """["END","###"]""",
            },
            options);
    }

    [Fact]
    public async Task SchemaViolations_DeadLettered_AndWrittenAsTheErrorFile()
    {
        var csv = Path.Combine(_dir, "cities-schema.csv");
        await File.WriteAllLinesAsync(csv, File.ReadLines(Cities.DataFile).Take(5));
        var schema = Path.Combine(_dir, "mayor.schema.json");
        await File.WriteAllTextAsync(schema, BatchRequests.MayorSchema);
        cluster.Simulator.UpdateFaults(f => f with { SchemaViolationRate = 1 });
        try
        {
            var submit = await cluster.RunAsync("submit", csv, "--batch", "cli-schema", "--prompt", "Mayor of {city}?", "--schema", schema, "--wait");
            var errors = await cluster.RunAsync("results", "cli-schema", "--errors");

            output.WriteLine(submit.ToString());
            output.WriteLine(errors.Stdout);
            Assert.Equal(0, submit.ExitCode);
            Assert.Contains("batch cli-schema complete: 0 results, 4 dead-lettered", submit.Stderr);
            var lines = errors.Stdout.Trim().Split('\n').Select(l => JsonDocument.Parse(l).RootElement).ToList();
            Assert.Equal(4, lines.Count);
            Assert.All(lines, l => Assert.Equal(JsonValueKind.Null, l.GetProperty("response").ValueKind));
            Assert.All(lines, l => Assert.Equal("invalid_structured_output", l.GetProperty("error").GetProperty("code").GetString()));
        }
        finally
        {
            cluster.Simulator.UpdateFaults(f => f with { SchemaViolationRate = 0 });
        }
    }

    [Theory]
    [InlineData("--temperature", "9", "error: temperature must be between 0 and 2 (was 9)")]
    [InlineData("--schema", "missing.json", "error: --schema missing.json: Could not find file")]
    public async Task BadOptions_OneLine_ExitCode2(string option, string value, string expected)
    {
        var csv = Path.Combine(_dir, "one.csv");
        await File.WriteAllLinesAsync(csv, File.ReadLines(Cities.DataFile).Take(2));

        var run = await cluster.RunAsync("submit", csv, option, Path.GetExtension(value) == ".json" ? Path.Combine(_dir, value) : value);

        Assert.Equal(2, run.ExitCode);
        Assert.StartsWith(expected, run.Stderr.Trim());
        Assert.Single(run.Stderr.Trim().Split('\n'));
    }

    [Fact]
    public async Task SchemaThatIsNoJsonSchema_RefusedByTheCliItself_OneLine_ExitCode2_NothingSubmitted()
    {
        var csv = Path.Combine(_dir, "one-more.csv");
        await File.WriteAllLinesAsync(csv, File.ReadLines(Cities.DataFile).Take(2));
        var schema = Path.Combine(_dir, "not-a.schema.json");
        await File.WriteAllTextAsync(schema, """{"type": 5}""");

        var run = await cluster.RunAsync("submit", csv, "--batch", "cli-bad-schema", "--schema", schema);

        // Exit code 2 is the CLI's own refusal: the batch grain's would be 1, after the batch was asked for.
        Assert.True(run.ExitCode == 2, run.Stderr);
        Assert.StartsWith("error: Bad format: ", run.Stderr.Trim());
        Assert.Single(run.Stderr.Trim().Split('\n'));
        Assert.False(await cluster.Db.KeyExistsAsync(cluster.Keys.Batch("cli-bad-schema")));
    }

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static string Line(string id, string question) => JsonSerializer.Serialize(new
    {
        custom_id = id,
        method = "POST",
        url = "/v1/chat/completions",
        body = new { model = "gpt-4o-mini", messages = new[] { new { role = "user", content = question } }, temperature = 0 },
    });
}
