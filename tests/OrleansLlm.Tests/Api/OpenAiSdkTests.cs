using System.ClientModel;
using System.ClientModel.Primitives;
using System.Diagnostics;
using System.Text.Json;
using OpenAI.Files;
using Xunit.Abstractions;

#pragma warning disable OPENAI001 // The SDK marks its batch client experimental.

namespace OrleansLlm.Tests.Api;

/// <summary>
/// The official OpenAI .NET SDK, changed in nothing but its endpoint and key, drives the Batch API of two silo
/// processes: any silo answers for any file and batch.
/// </summary>
[Collection(ApiCollection.Name)]
[Trait("Category", "Process")]
public sealed class OpenAiSdkTests(ApiSilos api, ITestOutputHelper output)
{
    [Fact]
    public async Task UploadCreatePollDownload_MatchesEveryCustomIdOnce_AndACancelledBatchKeepsItsPartialOutput()
    {
        output.WriteLine($"two silo processes ready in {api.StartTime.TotalSeconds:F1} s");
        var clock = Stopwatch.StartNew();
        var (input, ids) = await ApiSilos.InputFileAsync("a", 1000);
        var file = await UploadAsync(silo: 0, input, "cities.jsonl");
        Assert.Equal(input.Length, file.SizeInBytes);
        Assert.Equal("cities.jsonl", file.Filename);
        output.WriteLine($"upload of {input.Length} bytes: {clock.Elapsed.TotalSeconds:F2} s");

        // Created on one silo, followed on the other.
        var batchId = await CreateAsync(silo: 1, file.Id);
        var done = await PollAsync(batchId, b => b.GetProperty("status").GetString() is "completed" or "failed", TimeSpan.FromSeconds(120));
        output.WriteLine($"batch {batchId} completed {clock.Elapsed.TotalSeconds:F1} s after the upload began");
        Assert.Equal("completed", done.GetProperty("status").GetString());
        AssertCounts(done, total: 1000, completed: 1000, failed: 0);
        Assert.True(done.GetProperty("usage").GetProperty("total_tokens").GetInt64() > 0);
        foreach (var at in new[] { "created_at", "in_progress_at", "finalizing_at", "completed_at", "expires_at" })
        {
            Assert.True(done.GetProperty(at).ValueKind == JsonValueKind.Number, $"{at} is set");
        }

        var download = Stopwatch.StartNew();
        var lines = await DownloadLinesAsync(silo: 0, done.GetProperty("output_file_id").GetString()!);
        output.WriteLine($"output of {lines.Count} lines downloaded in {download.Elapsed.TotalSeconds:F2} s");
        Assert.Equal(ids.Order(StringComparer.Ordinal), lines.Select(CustomId).Order(StringComparer.Ordinal));
        Assert.All(lines, line => Assert.Equal(200, line.GetProperty("response").GetProperty("status_code").GetInt32()));
        Assert.Equal(JsonValueKind.Null, done.GetProperty("error_file_id").ValueKind);

        var listed = await api.Batches(0, api.AlphaKey).GetBatchesAsync(after: null, limit: 100, options: null).GetRawPagesAsync().FirstAsync();
        using var list = JsonDocument.Parse(listed.GetRawResponse().Content);
        Assert.Contains(list.RootElement.GetProperty("data").EnumerateArray(), b => b.GetProperty("id").GetString() == batchId);

        await CancelMidRunAsync();
    }

    private async Task CancelMidRunAsync()
    {
        var (input, ids) = await ApiSilos.InputFileAsync("c", 1000);
        var file = await UploadAsync(silo: 1, input, "cancel.jsonl");
        var batchId = await CreateAsync(silo: 0, file.Id, new Dictionary<string, string> { ["orleansllm_priority"] = "low", ["team"] = "data" });
        await PollAsync(batchId, b => b.GetProperty("request_counts").GetProperty("completed").GetInt64() > 0, TimeSpan.FromSeconds(60));

        var operation = await OpenAI.Batch.CreateBatchOperation.RehydrateAsync(api.Batches(1, api.AlphaKey), batchId);
        var cancel = await operation.CancelAsync(options: null);
        using var answer = JsonDocument.Parse(cancel.GetRawResponse().Content);
        Assert.Contains(answer.RootElement.GetProperty("status").GetString(), new[] { "cancelling", "cancelled" });

        var cancelled = await PollAsync(batchId, b => b.GetProperty("status").GetString() == "cancelled", TimeSpan.FromSeconds(60));
        var counts = cancelled.GetProperty("request_counts");
        var completed = counts.GetProperty("completed").GetInt64();
        output.WriteLine($"cancelled batch: {counts}");
        Assert.Equal(1000, counts.GetProperty("total").GetInt64());
        Assert.InRange(completed, 1, 999);
        Assert.Equal("data", cancelled.GetProperty("metadata").GetProperty("team").GetString());
        Assert.True(cancelled.GetProperty("cancelling_at").ValueKind == JsonValueKind.Number);
        Assert.True(cancelled.GetProperty("cancelled_at").ValueKind == JsonValueKind.Number);

        var lines = await DownloadLinesAsync(silo: 1, cancelled.GetProperty("output_file_id").GetString()!);
        var got = lines.Select(CustomId).ToList();
        Assert.Equal(completed, got.Count);
        Assert.Equal(got.Count, got.Distinct().Count());
        Assert.Subset(ids.ToHashSet(), got.ToHashSet());
    }

    private async Task<OpenAIFile> UploadAsync(int silo, byte[] input, string name)
    {
        using var stream = new MemoryStream(input);
        return (await api.Files(silo, api.AlphaKey).UploadFileAsync(stream, name, FileUploadPurpose.Batch)).Value;
    }

    private async Task<string> CreateAsync(int silo, string fileId, IReadOnlyDictionary<string, string>? metadata = null)
    {
        var body = BinaryContent.Create(BinaryData.FromObjectAsJson(new
        {
            input_file_id = fileId,
            endpoint = "/v1/chat/completions",
            completion_window = "24h",
            metadata,
        }));
        var operation = await api.Batches(silo, api.AlphaKey).CreateBatchAsync(body, waitUntilCompleted: false);
        using var created = JsonDocument.Parse(operation.GetRawResponse().Content);
        Assert.StartsWith("batch_", operation.BatchId);
        Assert.Equal("batch", created.RootElement.GetProperty("object").GetString());
        return operation.BatchId;
    }

    /// <summary>Asks each silo in turn for the batch until <paramref name="until"/> holds.</summary>
    private async Task<JsonElement> PollAsync(string batchId, Func<JsonElement, bool> until, TimeSpan timeout)
    {
        JsonElement last = default;
        var turn = 0;
        await Eventually.TrueAsync(
            async () =>
            {
                var result = await api.Batches(turn++ % 2, api.AlphaKey).GetBatchAsync(batchId, options: null);
                using var doc = JsonDocument.Parse(result.GetRawResponse().Content);
                last = doc.RootElement.Clone();
                return until(last);
            },
            $"batch {batchId} to reach the state asked for",
            timeout,
            () => Task.FromResult(last.ValueKind == JsonValueKind.Undefined ? "no answer yet" : last.ToString()));
        return last;
    }

    private async Task<IReadOnlyList<JsonElement>> DownloadLinesAsync(int silo, string fileId)
    {
        var content = (await api.Files(silo, api.AlphaKey).DownloadFileAsync(fileId)).Value.ToString();
        return content.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(line => JsonDocument.Parse(line).RootElement.Clone()).ToList();
    }

    private static string CustomId(JsonElement line) => line.GetProperty("custom_id").GetString()!;

    private static void AssertCounts(JsonElement batch, long total, long completed, long failed)
    {
        var counts = batch.GetProperty("request_counts");
        Assert.Equal(total, counts.GetProperty("total").GetInt64());
        Assert.Equal(completed, counts.GetProperty("completed").GetInt64());
        Assert.Equal(failed, counts.GetProperty("failed").GetInt64());
    }
}
