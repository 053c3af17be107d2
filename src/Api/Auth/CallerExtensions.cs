using Microsoft.AspNetCore.Http;

namespace OrleansLlm.Api.Auth;

public static class CallerExtensions
{
    private static readonly object Key = new();

    /// <summary>The caller the API key filter let in; every /v1 endpoint runs behind it.</summary>
    public static ApiCaller Caller(this HttpContext context) =>
        context.Items[Key] as ApiCaller ?? throw new InvalidOperationException("The request has no authenticated caller.");

    internal static void SetCaller(this HttpContext context, ApiCaller caller) => context.Items[Key] = caller;
}
