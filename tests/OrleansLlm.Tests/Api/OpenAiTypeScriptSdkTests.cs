using System.ComponentModel;
using System.Diagnostics;
using System.Text.Json;
using Xunit.Abstractions;

namespace OrleansLlm.Tests.Api;

/// <summary>
/// The official OpenAI TypeScript SDK (<c>openai</c> on npm, from tests/sdk-ts's lock file), given nothing but a base
/// URL and a key, runs a whole batch cycle against two silo processes and checks their webhooks with its own
/// <c>webhooks.unwrap</c>. The script (tests/sdk-ts/batch-cycle.mjs) says what it saw, step by step.
/// </summary>
[Collection(ApiCollection.Name)]
[Trait("Category", "Process")]
public sealed class OpenAiTypeScriptSdkTests(ApiSilos api, ITestOutputHelper output) : IDisposable
{
    private static readonly TimeSpan ScriptTimeout = TimeSpan.FromMinutes(3);

    private readonly string _dir = Directory.CreateTempSubdirectory("orleansllm-sdk-ts-").FullName;

    [Fact]
    public async Task UploadCreatePollDownloadAndCancel_ThenEachWebhookVerifies_WithTheSdkUnchanged()
    {
        var script = Path.Combine(RepoPaths.Root, "tests", "sdk-ts", "batch-cycle.mjs");
        Assert.True(Directory.Exists(Path.Combine(RepoPaths.Root, "tests", "sdk-ts", "node_modules", "openai")),
            "the openai npm package is not installed: run 'npm ci --prefix tests/sdk-ts' (bash .ci/run does)");
        var (input, ids) = await ApiSilos.InputFileAsync("ts", 1000);
        var (cancelInput, _) = await ApiSilos.InputFileAsync("tc", 1000);
        await File.WriteAllBytesAsync(Path.Combine(_dir, "input.jsonl"), input);
        await File.WriteAllBytesAsync(Path.Combine(_dir, "cancel.jsonl"), cancelInput);

        var run = await RunNodeAsync(script, new Dictionary<string, string>
        {
            // One address, as a user has behind the Service; the .NET SDK's test spreads its calls over both silos.
            ["OLM_BASE_URL"] = api.Endpoint(1).ToString(),
            ["OLM_API_KEY"] = api.AlphaKey,
            ["OLM_INPUT"] = Path.Combine(_dir, "input.jsonl"),
            ["OLM_CANCEL_INPUT"] = Path.Combine(_dir, "cancel.jsonl"),
            ["OLM_WEBHOOK_PORT"] = api.WebhookPort.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["OLM_WEBHOOK_SECRET"] = api.WebhookSecret,
            ["OLM_TIMEOUT_S"] = "90",
        });

        output.WriteLine(run.ToString());
        Assert.True(run.ExitCode == 0, $"the TypeScript SDK's cycle failed: {run.Stderr.Trim()}");
        var steps = run.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(line => JsonDocument.Parse(line).RootElement)
            .ToDictionary(step => step.GetProperty("step").GetString()!);
        Assert.Equal(input.Length, steps["uploaded"].GetProperty("bytes").GetInt64());
        Assert.Equal(ids.Count, steps["completed"].GetProperty("lines").GetInt32());
        Assert.InRange(steps["cancelled"].GetProperty("completed").GetInt64(), 1, 999);
        Assert.StartsWith("evt_", steps["webhooks"].GetProperty("completed").GetString());
        Assert.StartsWith("evt_", steps["webhooks"].GetProperty("cancelled").GetString());
    }

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static async Task<Infrastructure.CliRun> RunNodeAsync(string script, IReadOnlyDictionary<string, string> environment)
    {
        var start = new ProcessStartInfo("node") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        start.ArgumentList.Add(script);
        foreach (var (key, value) in environment)
        {
            start.Environment[key] = value;
        }

        Process process;
        try
        {
            process = Process.Start(start) ?? throw new InvalidOperationException("node did not start");
        }
        catch (Win32Exception ex)
        {
            throw new InvalidOperationException($"node could not be run ({ex.Message}): install nodejs (bash .ci/run does)", ex);
        }

        using (process)
        {
            var stdout = process.StandardOutput.ReadToEndAsync();
            var stderr = process.StandardError.ReadToEndAsync();
            using var timeout = new CancellationTokenSource(ScriptTimeout);
            try
            {
                await process.WaitForExitAsync(timeout.Token);
            }
            catch (OperationCanceledException)
            {
                process.Kill(entireProcessTree: true);
                throw new TimeoutException($"the script did not finish within {ScriptTimeout.TotalMinutes} minutes; so far: {await stdout}");
            }

            return new Infrastructure.CliRun(process.ExitCode, await stdout, await stderr);
        }
    }
}
