using System.ClientModel.Primitives;
using System.Text.Json;
using OpenAI.Chat;
using OrleansLlm.Client.Output;

namespace OrleansLlm.Tests.Formats;

/// <summary>
/// The lines of OpenAI batch output files as we write them: the official OpenAI .NET types (NuGet OpenAI, for parsing
/// only) must read every one.
/// </summary>
[Trait("Category", "Unit")]
public sealed class OpenAiOutputLineTests
{
    private static readonly JsonElement NoInput = JsonDocument.Parse("{}").RootElement;

    [Fact]
    public void ChatResultLine_ReadByTheOfficialOpenAiTypes()
    {
        var meta = new ResultMeta("answer", "qwen2:1.5b", 1, "silo", 1_500_000_000, 41, 7, DateTimeOffset.FromUnixTimeSeconds(1_790_000_000),
            ResultDocument.ChatEndpoint, "length");
        var document = ResultDocument.Build("req-7", "b1", NoInput, "Anne Hidalgo", meta);

        var line = JsonDocument.Parse(OpenAiResultWriter.Line(ResultDocument.Read(document))).RootElement;

        Assert.Equal("req-7", line.GetProperty("custom_id").GetString());
        Assert.StartsWith("batch_req_", line.GetProperty("id").GetString());
        Assert.Equal(JsonValueKind.Null, line.GetProperty("error").ValueKind);
        var response = line.GetProperty("response");
        Assert.Equal(200, response.GetProperty("status_code").GetInt32());
        Assert.False(string.IsNullOrEmpty(response.GetProperty("request_id").GetString()));
        var completion = ModelReaderWriter.Read<ChatCompletion>(BinaryData.FromString(response.GetProperty("body").GetRawText()))!;
        Assert.Equal("Anne Hidalgo", completion.Content[0].Text);
        Assert.Equal(ChatMessageRole.Assistant, completion.Role);
        Assert.Equal(ChatFinishReason.Length, completion.FinishReason);
        Assert.Equal("qwen2:1.5b", completion.Model);
        Assert.Equal(41, completion.Usage.InputTokenCount);
        Assert.Equal(7, completion.Usage.OutputTokenCount);
        Assert.Equal(48, completion.Usage.TotalTokenCount);
        Assert.Equal(DateTimeOffset.FromUnixTimeSeconds(1_790_000_000), completion.CreatedAt);
        Assert.StartsWith("chatcmpl-", completion.Id);
        // The same result always gets the same ids.
        Assert.Equal(line.GetRawText(), JsonDocument.Parse(OpenAiResultWriter.Line(ResultDocument.Read(document))).RootElement.GetRawText());
    }

    [Fact]
    public void StructuredResult_ContentIsTheModelsOwnText()
    {
        var meta = new ResultMeta("answer", "m", 1, "silo", 1, 1, 1, DateTimeOffset.UnixEpoch, ResultDocument.ChatEndpoint, "stop");
        const string raw = "{ \"mayor\": \"Anne Hidalgo\" }";
        var document = ResultDocument.BuildStructured("x", "b", NoInput, JsonDocument.Parse(raw).RootElement, raw, meta);

        var body = JsonDocument.Parse(OpenAiResultWriter.Line(ResultDocument.Read(document))).RootElement.GetProperty("response").GetProperty("body");

        var completion = ModelReaderWriter.Read<ChatCompletion>(BinaryData.FromString(body.GetRawText()))!;
        Assert.Equal(raw, completion.Content[0].Text);
        Assert.Equal(ChatFinishReason.Stop, completion.FinishReason);
    }

    [Fact]
    public void ErrorLine_HasNoResponse_AndTheCodeAndMessage()
    {
        var dead = new DeadLetter("b", "req-3", "answer does not match the batch's format", "the answer does not match the schema: at /mayor: required",
            1, "silo", DateTimeOffset.UnixEpoch, "{}", "{\"confidence\":1}");

        var line = JsonDocument.Parse(OpenAiErrorWriter.Line(dead)).RootElement;

        Assert.Equal("req-3", line.GetProperty("custom_id").GetString());
        Assert.Equal(JsonValueKind.Null, line.GetProperty("response").ValueKind);
        Assert.Equal("invalid_structured_output", line.GetProperty("error").GetProperty("code").GetString());
        Assert.Equal(
            "answer does not match the batch's format: the answer does not match the schema: at /mayor: required; the model answered: {\"confidence\":1}",
            line.GetProperty("error").GetProperty("message").GetString());
        Assert.Equal(OpenAiBatchIdsOf("b", "req-3"), line.GetProperty("id").GetString());
    }

    private static string OpenAiBatchIdsOf(string batch, string item) =>
        JsonDocument.Parse(OpenAiErrorWriter.Line(new DeadLetter(batch, item, "r", null, 0, "", DateTimeOffset.UnixEpoch, "{}"))).RootElement.GetProperty("id").GetString()!;
}
