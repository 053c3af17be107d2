using Microsoft.AspNetCore.Http;
using Microsoft.Net.Http.Headers;
using OrleansLlm.Api.Errors;

namespace OrleansLlm.Api.Auth;

/// <summary>Lets a request in only with a valid <c>Authorization: Bearer KEY</c>; 401 otherwise.</summary>
public sealed class ApiKeyFilter(ApiKeys keys) : IEndpointFilter
{
    public async ValueTask<object?> InvokeAsync(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
    {
        var http = context.HttpContext;
        if (keys.Find(http.Request.Headers[HeaderNames.Authorization]) is not { } caller)
        {
            return ApiErrors.Unauthorized();
        }

        http.SetCaller(caller);
        return await next(context);
    }
}
