using System.ClientModel;
using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using System.Text.RegularExpressions;
using OpenAI.Files;
using OrleansLlm.Tests.Infrastructure;
using Xunit.Abstractions;

#pragma warning disable OPENAI001 // The SDK marks its batch client experimental.

namespace OrleansLlm.Tests.Api;

/// <summary>What operators see of the API: its requests and batches in <c>/metrics</c>, and each batch's tenant in the CLI and on the batches page.</summary>
[Collection(ApiCollection.Name)]
[Trait("Category", "Process")]
public sealed partial class ApiOperatorTests(ApiSilos api, ITestOutputHelper output)
{
    private static readonly HttpClient Http = new() { Timeout = TimeSpan.FromSeconds(30) };

    [Fact]
    public async Task Metrics_CountRequestsByRouteTemplateAndStatus_AndBatchesByStatus_WithoutIdsOrKeys()
    {
        var clock = Stopwatch.StartNew();
        var silo = api.Silos[0];
        var missing = $"batch_{Guid.NewGuid():N}";
        var stray = $"stray-{Guid.NewGuid():N}";
        Assert.Equal(HttpStatusCode.OK, await StatusOfAsync($"{api.Endpoint(0)}/batches", api.AlphaKey));
        Assert.Equal(HttpStatusCode.Unauthorized, await StatusOfAsync($"{api.Endpoint(0)}/batches/{missing}", "sk-wrong"));
        Assert.Equal(HttpStatusCode.NotFound, await StatusOfAsync($"{api.Endpoint(0)}/batches/{missing}", api.AlphaKey));
        Assert.Equal(HttpStatusCode.NotFound, await StatusOfAsync($"{api.Endpoint(0)}/{stray}", api.AlphaKey));
        // Refused by the port check (the API port answers /v1 alone, and /v1 is answered there alone).
        Assert.Equal(HttpStatusCode.NotFound, await StatusOfAsync($"http://127.0.0.1:{silo.ApiPort}/{stray}", key: null));
        Assert.Equal(HttpStatusCode.NotFound, await StatusOfAsync($"http://127.0.0.1:{silo.HttpPort}/v1/batches/{missing}", api.AlphaKey));
        var batchId = await CreateEndedBatchAsync("metrics");

        var scrape = string.Empty;
        await Eventually.TrueAsync(
            async () =>
            {
                scrape = await Http.GetStringAsync($"http://127.0.0.1:{silo.HttpPort}/metrics");
                return Series(scrape, "http_server_request_duration_seconds_count", "/v1/batches/{id}", "404") is not null
                    && Gauge(scrape, "completed") >= 1;
            },
            $"the API's request series and its ended batch {batchId} in the silo's /metrics",
            describe: () => Task.FromResult(string.Join('\n', scrape.Split('\n').Where(l => l.Contains("/v1/", StringComparison.Ordinal) || l.StartsWith("orleansllm_api", StringComparison.Ordinal)))));

        Assert.NotNull(Series(scrape, "http_server_request_duration_seconds_count", "/v1/batches", "200"));
        Assert.NotNull(Series(scrape, "http_server_request_duration_seconds_count", "/v1/batches/{id}", "401"));
        Assert.All(OpenAiBatchStates.All, status => Assert.NotNull(Gauge(scrape, status)));
        foreach (var secret in new[] { missing, stray, batchId, api.AlphaKey, "sk-wrong", "alpha" })
        {
            Assert.DoesNotContain(secret, scrape, StringComparison.Ordinal);
        }

        foreach (var line in scrape.Split('\n').Where(l => l.StartsWith("orleansllm_api_batches{", StringComparison.Ordinal) || (l.StartsWith("http_server_request_duration_seconds_count", StringComparison.Ordinal) && l.Contains("/v1", StringComparison.Ordinal))))
        {
            output.WriteLine(line);
        }

        var (exitCode, problems) = await Promtool.CheckMetricsAsync(scrape);
        Assert.True(exitCode == 0, $"promtool check metrics failed:\n{problems}");
        output.WriteLine($"took {clock.Elapsed.TotalSeconds:0.0} s");
    }

    [Fact]
    public async Task StatusAndBatchesTable_ShowAnApiBatchsTenant()
    {
        var clock = Stopwatch.StartNew();
        var batchId = await CreateEndedBatchAsync("tenant");

        var one = await CliProcess.RunAsync(["status", batchId], api.CliEnvironment);
        Assert.True(one.ExitCode == 0, one.Stderr);
        Assert.Contains($"{batchId}: completed, tenant alpha, priority", one.Stdout, StringComparison.Ordinal);
        var all = await CliProcess.RunAsync(["status"], api.CliEnvironment);
        Assert.True(all.ExitCode == 0, all.Stderr);
        Assert.Contains($"{batchId}: completed, tenant alpha,", all.Stdout, StringComparison.Ordinal);
        output.WriteLine($"the CLI's two runs: {clock.Elapsed.TotalSeconds:0.0} s in");

        using var table = JsonDocument.Parse(await Http.GetStringAsync($"http://127.0.0.1:{api.Silos[1].HttpPort}/batches/table"));
        var row = table.RootElement.GetProperty("batches").EnumerateArray().Single(b => b.GetProperty("id").GetString() == batchId);
        Assert.Equal("alpha", row.GetProperty("tenant").GetString());
        output.WriteLine($"took {clock.Elapsed.TotalSeconds:0.0} s");
    }

    /// <summary>A two-request batch of tenant alpha, run to its end and read once it has ended, so its end is recorded.</summary>
    private async Task<string> CreateEndedBatchAsync(string prefix)
    {
        var (input, _) = await ApiSilos.InputFileAsync(prefix, 2);
        using var stream = new MemoryStream(input);
        var file = (await api.Files(0, api.AlphaKey).UploadFileAsync(stream, $"{prefix}.jsonl", FileUploadPurpose.Batch)).Value;
        var body = BinaryContent.Create(BinaryData.FromObjectAsJson(new { input_file_id = file.Id, endpoint = "/v1/chat/completions", completion_window = "24h" }));
        var batchId = (await api.Batches(0, api.AlphaKey).CreateBatchAsync(body, waitUntilCompleted: false)).BatchId;
        var status = string.Empty;
        await Eventually.TrueAsync(
            async () =>
            {
                using var doc = JsonDocument.Parse((await api.Batches(0, api.AlphaKey).GetBatchAsync(batchId, options: null)).GetRawResponse().Content);
                status = doc.RootElement.GetProperty("status").GetString()!;
                return status == "completed";
            },
            $"batch {batchId} to complete",
            describe: () => Task.FromResult($"status {status}"));
        return batchId;
    }

    private static async Task<HttpStatusCode> StatusOfAsync(string url, string? key)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, url);
        if (key is not null)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", key);
        }

        using var response = await Http.SendAsync(request);
        return response.StatusCode;
    }

    /// <returns>The value of the series of <paramref name="metric"/> with this route and status code; null when there is none.</returns>
    private static double? Series(string scrape, string metric, string route, string statusCode) =>
        scrape.Split('\n')
            .Where(l => l.StartsWith(metric + "{", StringComparison.Ordinal)
                && l.Contains($"http_route=\"{route}\"", StringComparison.Ordinal)
                && l.Contains($"http_response_status_code=\"{statusCode}\"", StringComparison.Ordinal))
            .Select(Value)
            .Cast<double?>()
            .FirstOrDefault();

    private double? Gauge(string scrape, string status) =>
        scrape.Split('\n')
            .Where(l => l.StartsWith("orleansllm_api_batches{", StringComparison.Ordinal)
                && l.Contains($"queue=\"{api.Queue}\"", StringComparison.Ordinal)
                && l.Contains($"status=\"{status}\"", StringComparison.Ordinal))
            .Select(Value)
            .Cast<double?>()
            .FirstOrDefault();

    private static double Value(string line) => double.Parse(SampleValue().Match(line).Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);

    [GeneratedRegex(@"\}\s+(\S+)")]
    private static partial Regex SampleValue();
}
