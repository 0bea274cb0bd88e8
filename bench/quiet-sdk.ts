// The AWS SDK warns on Node 20 about versions released after January 2027; the daemon silences it
// the same way (src/exporters/s3/factory.ts). Imported first, so it runs before the SDK loads.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";
