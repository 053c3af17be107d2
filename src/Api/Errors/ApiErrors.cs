using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http;

namespace OrleansLlm.Api.Errors;

/// <summary>Every error the API answers, in OpenAI's shape: <c>{"error":{"message","type","param","code"}}</c>.</summary>
public static class ApiErrors
{
    public const string InvalidRequest = "invalid_request_error";

    public static IResult BadRequest(string message, string? param = null, string? code = null) =>
        Error(StatusCodes.Status400BadRequest, message, InvalidRequest, param, code);

    public static IResult Unauthorized() =>
        Error(StatusCodes.Status401Unauthorized, "Incorrect API key provided. Send it as 'Authorization: Bearer KEY'.", InvalidRequest, null, "invalid_api_key");

    /// <summary>404 for what does not exist and for what another tenant owns alike, so nothing tells them apart.</summary>
    public static IResult NotFound(string what, string id, string? param = null) =>
        Error(StatusCodes.Status404NotFound, $"No such {what}: {id}", InvalidRequest, param, null);

    public static IResult Conflict(string message) =>
        Error(StatusCodes.Status409Conflict, message, InvalidRequest, null, null);

    public static IResult TooLarge(long limit) =>
        Error(StatusCodes.Status413PayloadTooLarge, $"The file is larger than the {limit} bytes this server takes (Api:MaxFileBytes).", InvalidRequest, "file", "file_too_large");

    public static IResult TooMany(string message, string code) =>
        Error(StatusCodes.Status429TooManyRequests, message, "rate_limit_error", null, code);

    public static IResult Error(int status, string message, string type, string? param, string? code)
    {
        var body = new JsonObject
        {
            ["error"] = new JsonObject
            {
                ["message"] = message,
                ["type"] = type,
                ["param"] = param,
                ["code"] = code,
            },
        };
        return Results.Text(body.ToJsonString(), "application/json", statusCode: status);
    }
}
