using System.Text.Json;
using OrleansLlm.Api;
using OrleansLlm.Api.Batches;

namespace OrleansLlm.Tests.Api;

/// <summary>The API's settings and what it reads from a request, checked without a silo.</summary>
[Trait("Category", "Unit")]
public sealed class ApiRequestTests
{
    private static readonly string Hash = new('a', 64);

    [Fact]
    public void Options_WithAKeyOnAPortTheSiloUses_AreRefused_NamingThePortButNeverTheHash()
    {
        var options = new ApiOptions { Port = 9090, Keys = [new ApiKeyOptions { Tenant = "team-a", Sha256 = "not-a-hash" }] };

        var result = new ApiOptionsValidator([8080, 9090]).Validate(null, options);

        Assert.True(result.Failed);
        Assert.Contains(result.Failures, f => f.Contains("Api:Port 9090", StringComparison.Ordinal));
        Assert.Contains(result.Failures, f => f.Contains("Api:Keys:0:Sha256", StringComparison.Ordinal));
        Assert.DoesNotContain(result.Failures, f => f.Contains("not-a-hash", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData(OpenAiBatchRecord.Validating, false, null, "validating")]
    [InlineData(OpenAiBatchRecord.Validating, true, null, "cancelling")]
    [InlineData(OpenAiBatchRecord.Submitted, false, null, "in_progress")]
    [InlineData(OpenAiBatchRecord.Submitted, true, null, "cancelling")]
    [InlineData(OpenAiBatchStates.Failed, false, null, "failed")]
    [InlineData(OpenAiBatchStates.Cancelled, true, null, "cancelled")]
    [InlineData(OpenAiBatchRecord.Submitted, true, "cancelled", "cancelled")]
    [InlineData(OpenAiBatchRecord.Submitted, false, "expired", "expired")]
    public void RecordStatus_WhatTheBatchesByStatusGaugeCounts_FollowsTheRecordAlone(string state, bool cancelling, string? ended, string status)
    {
        var record = new OpenAiBatchRecord("t", "k", "file-1", "/v1/chat/completions", "24h", TimeSpan.FromHours(24), new Dictionary<string, string>(),
            DateTimeOffset.UnixEpoch, state, [], CancellingAt: cancelling ? DateTimeOffset.UnixEpoch : null, EndedStatus: ended);

        Assert.Equal(status, record.Status);
    }

    [Fact]
    public void Options_WithoutKeys_AreValidAndServeNoApi_WhateverThePort()
    {
        var options = new ApiOptions { Port = 8080 };

        Assert.True(new ApiOptionsValidator([8080]).Validate(null, options).Succeeded);
        Assert.False(options.Enabled);
    }

    [Fact]
    public void Options_WithABadTenantOrLimit_AreRefused()
    {
        var options = new ApiOptions { MaxFileBytes = 0, Keys = [new ApiKeyOptions { Tenant = "team a/b", Sha256 = Hash }] };

        var failures = new ApiOptionsValidator().Validate(null, options).Failures!;

        Assert.Contains(failures, f => f.Contains("Api:Keys:0:Tenant", StringComparison.Ordinal));
        Assert.Contains(failures, f => f.Contains("Api:MaxFileBytes", StringComparison.Ordinal));
    }

    [Fact]
    public void Metadata_SetsPriorityAndOllamaOptions_AndKeepsTheUsersOwnKeys()
    {
        var (metadata, _, error) = BatchMetadata.Read(new Dictionary<string, string>
        {
            ["orleansllm_priority"] = "high",
            ["orleansllm_model"] = "qwen2:7b",
            ["orleansllm_temperature"] = "0.2",
            ["orleansllm_num_ctx"] = "8192",
            ["orleansllm_system_prompt"] = "Answer in French.",
            ["orleansllm_json_schema"] = "json",
            ["team"] = "data",
        });

        Assert.Null(error);
        Assert.Equal(BatchPriority.High, metadata!.Priority);
        Assert.Equal("qwen2:7b", metadata.Overrides.Model);
        Assert.Equal(0.2, metadata.Overrides.Options!.Temperature);
        Assert.Equal(8192, metadata.Overrides.Options.NumCtx);
        Assert.Equal("Answer in French.", metadata.Overrides.SystemPrompt);
        Assert.Equal("json", metadata.Overrides.Format);
    }

    [Theory]
    [InlineData("orleansllm_priority", "urgent")]
    [InlineData("orleansllm_temperature", "hot")]
    [InlineData("orleansllm_temperature", "3")]
    [InlineData("orleansllm_num_ctx", "-1")]
    [InlineData("orleansllm_model", "two words")]
    [InlineData("orleansllm_json_schema", "{\"type\": 5}")]
    [InlineData("orleansllm_temprature", "0")]
    public void Metadata_WithABadValueOrUnknownKey_IsRefused_NamingTheKey(string key, string value)
    {
        var (metadata, param, error) = BatchMetadata.Read(new Dictionary<string, string> { [key] = value });

        Assert.Null(metadata);
        Assert.Equal($"metadata.{key}", param);
        Assert.StartsWith($"metadata.{key} ", error);
    }

    [Theory]
    [InlineData("""{"input_file_id":"file-1","endpoint":"/v1/chat/completions","completion_window":"24h","extra":1}""", null, 24 * 60)]
    [InlineData("""{"input_file_id":"file-1","endpoint":"/v1/completions"}""", null, 24 * 60)]
    [InlineData("""{"input_file_id":"file-1","endpoint":"/v1/chat/completions","completion_window":"90m"}""", null, 90)]
    [InlineData("""{"endpoint":"/v1/chat/completions"}""", "input_file_id", 0)]
    [InlineData("""{"input_file_id":"file-1","endpoint":"/v1/embeddings"}""", "endpoint", 0)]
    [InlineData("""{"input_file_id":"file-1","endpoint":"/v1/completions","completion_window":"soon"}""", "completion_window", 0)]
    [InlineData("""{"input_file_id":"file-1","endpoint":"/v1/completions","metadata":{"n":1}}""", "metadata.n", 0)]
    public void CreateBody_ReadsWhatOpenAiReads_AndIgnoresUnknownFields(string json, string? param, int windowMinutes)
    {
        using var doc = JsonDocument.Parse(json);

        var (body, wrong, _) = CreateBatchBody.Read(doc.RootElement);

        Assert.Equal(param, wrong);
        if (param is null)
        {
            Assert.Equal(TimeSpan.FromMinutes(windowMinutes), body!.Window);
        }
    }
}
