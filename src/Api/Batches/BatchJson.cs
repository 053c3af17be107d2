using System.Text.Json.Nodes;

namespace OrleansLlm.Api.Batches;

/// <summary>OpenAI's batch object, field by field.</summary>
public static class BatchJson
{
    private static readonly string[] Times =
        ["created", "in_progress", "expires", "finalizing", "completed", "failed", "expired", "cancelling", "cancelled"];

    public static JsonObject Of(OpenAiBatchView b)
    {
        var json = new JsonObject
        {
            ["id"] = b.Id,
            ["object"] = "batch",
            ["endpoint"] = b.Endpoint,
            ["errors"] = b.Errors.Count == 0 ? null : new JsonObject
            {
                ["object"] = "list",
                ["data"] = new JsonArray([.. b.Errors.Select(e => new JsonObject
                {
                    ["code"] = e.Code,
                    ["message"] = e.Message,
                    ["param"] = e.Param,
                    ["line"] = e.Line,
                })]),
            },
            ["input_file_id"] = b.InputFileId,
            ["completion_window"] = b.CompletionWindow,
            ["status"] = b.Status,
            ["output_file_id"] = b.OutputFileId,
            ["error_file_id"] = b.ErrorFileId,
        };
        foreach (var name in Times)
        {
            json[$"{name}_at"] = b.Times.TryGetValue(name, out var at) ? at.ToUnixTimeSeconds() : null;
        }

        json["request_counts"] = new JsonObject { ["total"] = b.Total, ["completed"] = b.Completed, ["failed"] = b.Failed };
        json["usage"] = new JsonObject
        {
            ["input_tokens"] = b.Usage.PromptTokens,
            ["input_tokens_details"] = new JsonObject { ["cached_tokens"] = 0 },
            ["output_tokens"] = b.Usage.CompletionTokens,
            ["output_tokens_details"] = new JsonObject { ["reasoning_tokens"] = 0 },
            ["total_tokens"] = b.Usage.TotalTokens,
        };
        json["metadata"] = b.Metadata.Count == 0 ? null : new JsonObject(b.Metadata.Select(p => KeyValuePair.Create(p.Key, (JsonNode?)p.Value)));
        return json;
    }
}
