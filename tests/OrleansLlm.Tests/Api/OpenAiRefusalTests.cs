using System.ClientModel;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using OpenAI.Files;

#pragma warning disable OPENAI001 // The SDK marks its batch client experimental.

namespace OrleansLlm.Tests.Api;

/// <summary>What the API refuses, each checked on its status code and on OpenAI's error body, through the official SDK where it can ask.</summary>
[Collection(ApiCollection.Name)]
[Trait("Category", "Process")]
public sealed class OpenAiRefusalTests(ApiSilos api)
{
    private static readonly HttpClient Http = new() { Timeout = TimeSpan.FromSeconds(30) };

    [Fact]
    public async Task WrongOrMissingKey_Gets401_AndTheKeyIsNeverLogged()
    {
        const string wrong = "sk-wrong-key-4711";
        var refused = await Assert.ThrowsAsync<ClientResultException>(() => api.Files(0, wrong).GetFilesAsync());
        AssertError(refused, HttpStatusCode.Unauthorized, code: "invalid_api_key");

        using var anonymous = await Http.GetAsync($"{api.Endpoint(1)}/batches");
        await AssertErrorAsync(anonymous, HttpStatusCode.Unauthorized, code: "invalid_api_key");

        Assert.All(api.Silos, silo => Assert.DoesNotContain(wrong, silo.Output, StringComparison.Ordinal));
        Assert.All(api.Silos, silo => Assert.DoesNotContain(api.AlphaKey, silo.Output, StringComparison.Ordinal));
    }

    [Fact]
    public async Task AnotherTenantsFileAndBatch_Get404_AndAreNotListed()
    {
        var (input, _) = await ApiSilos.InputFileAsync("t", 5);
        using var stream = new MemoryStream(input);
        var file = (await api.Files(0, api.AlphaKey).UploadFileAsync(stream, "alpha.jsonl", FileUploadPurpose.Batch)).Value;
        var batchId = await CreateAsync(api.AlphaKey, file.Id);

        var beta = api.Files(1, api.BetaKey);
        AssertError(await Assert.ThrowsAsync<ClientResultException>(() => beta.GetFileAsync(file.Id)), HttpStatusCode.NotFound);
        AssertError(await Assert.ThrowsAsync<ClientResultException>(() => beta.DownloadFileAsync(file.Id)), HttpStatusCode.NotFound);
        AssertError(await Assert.ThrowsAsync<ClientResultException>(() => beta.DeleteFileAsync(file.Id)), HttpStatusCode.NotFound);
        var betaBatches = api.Batches(1, api.BetaKey);
        AssertError(await Assert.ThrowsAsync<ClientResultException>(() => betaBatches.GetBatchAsync(batchId, options: null)), HttpStatusCode.NotFound);
        using var cancel = await SendAsync(HttpMethod.Post, 0, $"/batches/{batchId}/cancel", api.BetaKey);
        await AssertErrorAsync(cancel, HttpStatusCode.NotFound);
        // Nor can another tenant start a batch from the file.
        AssertError(await Assert.ThrowsAsync<ClientResultException>(() => CreateAsync(api.BetaKey, file.Id)), HttpStatusCode.NotFound, param: "input_file_id");

        Assert.DoesNotContain((await beta.GetFilesAsync()).Value, f => f.Id == file.Id);
        var page = await betaBatches.GetBatchesAsync(after: null, limit: 100, options: null).GetRawPagesAsync().FirstAsync();
        Assert.DoesNotContain(batchId, page.GetRawResponse().Content.ToString(), StringComparison.Ordinal);

        // The owner still has both.
        Assert.Equal(file.Id, (await api.Files(1, api.AlphaKey).GetFileAsync(file.Id)).Value.Id);
    }

    [Fact]
    public async Task FileOverTheLimit_Gets413_AndNothingIsKept()
    {
        var big = new byte[ApiSilos.MaxFileBytes + 64 * 1024];
        Array.Fill(big, (byte)'x');
        using var stream = new MemoryStream(big);
        var refused = await Assert.ThrowsAsync<ClientResultException>(() => api.Files(0, api.AlphaKey).UploadFileAsync(stream, "too-big.jsonl", FileUploadPurpose.Batch));
        AssertError(refused, HttpStatusCode.RequestEntityTooLarge, code: "file_too_large", param: "file");

        Assert.DoesNotContain((await api.Files(1, api.AlphaKey).GetFilesAsync()).Value, f => f.Filename == "too-big.jsonl");
    }

    [Fact]
    public async Task FileWithMalformedLines_FailsTheBatch_WithTheirLineNumbersInErrorsData()
    {
        var good = Encoding.UTF8.GetString((await ApiSilos.InputFileAsync("m", 2)).File).Split('\n');
        var lines = new[]
        {
            good[0],
            "{ this is not json",
            """{"method":"POST","url":"/v1/chat/completions","body":{"model":"qwen2:1.5b","messages":[{"role":"user","content":"hi"}]}}""",
            good[1],
            good[0],
        };
        using var stream = new MemoryStream(Encoding.UTF8.GetBytes(string.Join('\n', lines) + "\n"));
        var file = (await api.Files(1, api.AlphaKey).UploadFileAsync(stream, "malformed.jsonl", FileUploadPurpose.Batch)).Value;
        var batchId = await CreateAsync(api.AlphaKey, file.Id);

        JsonElement batch = default;
        await Eventually.TrueAsync(
            async () =>
            {
                using var doc = JsonDocument.Parse((await api.Batches(0, api.AlphaKey).GetBatchAsync(batchId, options: null)).GetRawResponse().Content);
                batch = doc.RootElement.Clone();
                return batch.GetProperty("status").GetString() != "validating";
            },
            $"batch {batchId} to be validated");

        Assert.Equal("failed", batch.GetProperty("status").GetString());
        Assert.True(batch.GetProperty("failed_at").ValueKind == JsonValueKind.Number);
        var errors = batch.GetProperty("errors").GetProperty("data").EnumerateArray().ToList();
        Assert.Equal([2, 3, 5], errors.Select(e => e.GetProperty("line").GetInt32()));
        Assert.Equal(["invalid_json_line", "missing_required_parameter", "duplicate_custom_id"], errors.Select(e => e.GetProperty("code").GetString()));
        Assert.All(errors, e => Assert.False(string.IsNullOrEmpty(e.GetProperty("message").GetString())));

        // A failed batch has ended: it can't be cancelled.
        using var cancel = await SendAsync(HttpMethod.Post, 1, $"/batches/{batchId}/cancel", api.AlphaKey);
        await AssertErrorAsync(cancel, HttpStatusCode.Conflict);
    }

    [Fact]
    public async Task BadMetadataOrEndpoint_Gets400_NamingTheField()
    {
        var (input, _) = await ApiSilos.InputFileAsync("e", 1);
        using var stream = new MemoryStream(input);
        var file = (await api.Files(0, api.AlphaKey).UploadFileAsync(stream, "one.jsonl", FileUploadPurpose.Batch)).Value;

        var hot = await Assert.ThrowsAsync<ClientResultException>(() => CreateAsync(api.AlphaKey, file.Id, new Dictionary<string, string> { ["orleansllm_temperature"] = "hot" }));
        AssertError(hot, HttpStatusCode.BadRequest, param: "metadata.orleansllm_temperature");
        var embeddings = await Assert.ThrowsAsync<ClientResultException>(() => CreateAsync(api.AlphaKey, file.Id, endpoint: "/v1/embeddings"));
        AssertError(embeddings, HttpStatusCode.BadRequest, param: "endpoint");
    }

    [Fact]
    public async Task ApiPort_AnswersOnlyV1_AndV1IsAnsweredThereAlone()
    {
        var silo = api.Silos[0];
        using var health = await Http.GetAsync($"http://127.0.0.1:{silo.ApiPort}/readyz");
        Assert.Equal(HttpStatusCode.NotFound, health.StatusCode);
        using var files = new HttpRequestMessage(HttpMethod.Get, $"http://127.0.0.1:{silo.HttpPort}/v1/files");
        files.Headers.Authorization = new AuthenticationHeaderValue("Bearer", api.AlphaKey);
        using var answer = await Http.SendAsync(files);
        Assert.Equal(HttpStatusCode.NotFound, answer.StatusCode);
    }

    private async Task<string> CreateAsync(string key, string fileId, IReadOnlyDictionary<string, string>? metadata = null, string endpoint = "/v1/chat/completions")
    {
        var body = BinaryContent.Create(BinaryData.FromObjectAsJson(new { input_file_id = fileId, endpoint, completion_window = "24h", metadata }));
        return (await api.Batches(0, key).CreateBatchAsync(body, waitUntilCompleted: false)).BatchId;
    }

    private async Task<HttpResponseMessage> SendAsync(HttpMethod method, int silo, string path, string key)
    {
        using var request = new HttpRequestMessage(method, $"{api.Endpoint(silo)}{path}");
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", key);
        return await Http.SendAsync(request);
    }

    private static void AssertError(ClientResultException refused, HttpStatusCode status, string? code = null, string? param = null) =>
        AssertBody(refused.Status, refused.GetRawResponse()!.Content.ToString(), status, code, param);

    private static async Task AssertErrorAsync(HttpResponseMessage response, HttpStatusCode status, string? code = null, string? param = null) =>
        AssertBody((int)response.StatusCode, await response.Content.ReadAsStringAsync(), status, code, param);

    /// <summary>OpenAI's error body: an <c>error</c> with a message, a type, and a param and a code that may be null.</summary>
    private static void AssertBody(int actual, string body, HttpStatusCode status, string? code, string? param)
    {
        Assert.True((int)status == actual, $"expected {(int)status}, got {actual}: {body}");
        using var doc = JsonDocument.Parse(body);
        var error = doc.RootElement.GetProperty("error");
        Assert.False(string.IsNullOrEmpty(error.GetProperty("message").GetString()));
        Assert.False(string.IsNullOrEmpty(error.GetProperty("type").GetString()));
        Assert.Equal(param, error.GetProperty("param").GetString());
        if (code is not null)
        {
            Assert.Equal(code, error.GetProperty("code").GetString());
        }
        else
        {
            Assert.True(error.TryGetProperty("code", out _), "the error has a code field, null or not");
        }
    }
}
