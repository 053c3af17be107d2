using System.ClientModel;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using OpenAI.Files;

#pragma warning disable OPENAI001 // The SDK marks its batch client experimental.

namespace OrleansLlm.Tests.Api;

/// <summary>A batch with a request that always fails: its error file, and the retry extension that sends it again.</summary>
[Collection(ApiCollection.Name)]
[Trait("Category", "Process")]
public sealed class OpenAiRetryTests(ApiSilos api)
{
    [Fact]
    public async Task FailedRequest_IsInTheErrorFile_AndRetryRunsItAgain()
    {
        var good = Encoding.UTF8.GetString((await ApiSilos.InputFileAsync("r", 2)).File);
        var failing = $$$"""{"custom_id":"r-lost","method":"POST","url":"/v1/chat/completions","body":{"model":"{{{ApiSilos.Model}}}","messages":[{"role":"user","content":"Describe {{{ApiSilos.FailingPrompt}}}."}]}}""";
        using var stream = new MemoryStream(Encoding.UTF8.GetBytes(good + failing + "\n"));
        var file = (await api.Files(0, api.AlphaKey).UploadFileAsync(stream, "retry.jsonl", FileUploadPurpose.Batch)).Value;
        var body = BinaryContent.Create(BinaryData.FromObjectAsJson(new { input_file_id = file.Id, endpoint = "/v1/chat/completions", completion_window = "24h" }));
        var batchId = (await api.Batches(1, api.AlphaKey).CreateBatchAsync(body, waitUntilCompleted: false)).BatchId;

        var done = await CompletedAsync(batchId);
        Assert.Equal(1, done.GetProperty("request_counts").GetProperty("failed").GetInt64());
        Assert.Equal(2, done.GetProperty("request_counts").GetProperty("completed").GetInt64());
        var errors = (await api.Files(1, api.AlphaKey).DownloadFileAsync(done.GetProperty("error_file_id").GetString()!)).Value.ToString()
            .Split('\n', StringSplitOptions.RemoveEmptyEntries);
        using var error = JsonDocument.Parse(Assert.Single(errors));
        Assert.Equal("r-lost", error.RootElement.GetProperty("custom_id").GetString());
        Assert.Equal("max_attempts_exceeded", error.RootElement.GetProperty("error").GetProperty("code").GetString());

        using var http = new HttpClient();
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", api.AlphaKey);
        using var retry = await http.PostAsync($"{api.Endpoint(0)}/batches/{batchId}/retry", content: null);
        Assert.True(retry.IsSuccessStatusCode, await retry.Content.ReadAsStringAsync());
        using var retried = JsonDocument.Parse(await retry.Content.ReadAsStringAsync());
        Assert.Equal(batchId, retried.RootElement.GetProperty("id").GetString());
        Assert.Equal("in_progress", retried.RootElement.GetProperty("status").GetString());
        Assert.Equal(JsonValueKind.Null, retried.RootElement.GetProperty("completed_at").ValueKind);

        // It fails again, and ends again, with its files made anew.
        var again = await CompletedAsync(batchId);
        Assert.Equal(1, again.GetProperty("request_counts").GetProperty("failed").GetInt64());
        Assert.Equal(JsonValueKind.String, again.GetProperty("error_file_id").ValueKind);
    }

    private async Task<JsonElement> CompletedAsync(string batchId)
    {
        JsonElement last = default;
        await Eventually.TrueAsync(
            async () =>
            {
                using var doc = JsonDocument.Parse((await api.Batches(0, api.AlphaKey).GetBatchAsync(batchId, options: null)).GetRawResponse().Content);
                last = doc.RootElement.Clone();
                return last.GetProperty("status").GetString() == "completed" && last.GetProperty("error_file_id").ValueKind == JsonValueKind.String;
            },
            $"batch {batchId} to complete with an error file",
            TimeSpan.FromSeconds(60),
            () => Task.FromResult(last.ToString()));
        return last;
    }
}
